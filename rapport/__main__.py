from rapport.entry.cli import main

main()
