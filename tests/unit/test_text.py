from models.text import clean_text


def test_cleaning_removes_controls_bidi_overrides_and_zero_width_characters():
    raw = "good\u202eevil\u200b ser\u0007vice\x00"
    assert clean_text(raw, max_chars=100) == "goodevil service"


def test_cleaning_normalises_to_nfc_so_equal_text_compares_equal():
    decomposed = "Cafe\u0301"
    assert clean_text(decomposed, max_chars=50) == "Caf\u00e9"


def test_cleaning_caps_length_in_characters_not_bytes():
    text = "服" * 600
    cleaned = clean_text(text, max_chars=500)
    assert len(cleaned) == 500


def test_single_line_fields_lose_their_line_breaks():
    assert clean_text("a\nb\r\nc", max_chars=50, multiline=False) == "abc"


def test_comments_keep_paragraphs_but_not_runs_of_blank_lines():
    assert clean_text("  first  \n\n\n\n  second\t\tline ", max_chars=100) == "first\n\nsecond line"


def test_cleaning_twice_changes_nothing():
    samples = ["\u202e\u0301x", "a\u0301\u0301 \n\n\n b", "服务" * 300, " \u200d\U0001f600 "]
    for sample in samples:
        once = clean_text(sample, max_chars=500)
        assert clean_text(once, max_chars=500) == once


def test_contact_details_typed_into_free_text_are_masked():
    from models.text import mask_contacts

    text = "请回电 138 1234 5678 或 +86-13900001111，邮箱 wang.fang@example.cn；订单号 20261127001 不变。"
    assert mask_contacts(text) == "请回电 *** 或 ***，邮箱 ***；订单号 20261127001 不变。"
    assert mask_contacts("没有联系方式") == "没有联系方式"
