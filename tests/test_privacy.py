"""Personal data: pseudonyms are keyed, ID check characters are verified, the scanner finds what it must."""
from __future__ import annotations

import pandas as pd

from analysis.io import privacy


def test_id_check_character():
    # GB 11643-1999 worked example: 11010519491231002 -> check character X
    assert privacy.id_check_char("11010519491231002") == "X"
    assert privacy.is_valid_id("11010519491231002X")
    assert not privacy.is_valid_id("110105194912310021")


def test_pseudonyms_depend_on_key_and_are_stable():
    ids = pd.Series(["4101020001", "4101020002", None], dtype="string")
    a = privacy.pseudonymize(ids, b"key-1", "H")
    assert a.iloc[0] == privacy.pseudonymize(ids, b"key-1", "H").iloc[0]
    assert a.iloc[0] != privacy.pseudonymize(ids, b"key-2", "H").iloc[0]
    assert a.iloc[0] != a.iloc[1] and pd.isna(a.iloc[2])
    assert "4101020001" not in a.iloc[0]


def test_scanner_finds_raw_and_passes_processed(small_raw, small_processed):
    known = privacy.raw_identities([small_raw])
    assert len(known) > 100
    raw_findings = privacy.scan([small_raw], known)
    kinds = {k for _, k, _ in raw_findings}
    assert {"id_number", "phone", "known value"} <= kinds          # the check can fail
    assert privacy.scan([small_processed], known) == []


def test_scanner_ignores_hex_and_decimals(tmp_path):
    (tmp_path / "a.md").write_text("P5d77541391234567 0.13912345678 not phones", encoding="utf-8")
    assert privacy.scan([tmp_path]) == []
    (tmp_path / "b.md").write_text("call 13912345678", encoding="utf-8")
    assert [k for _, k, _ in privacy.scan([tmp_path])] == ["phone"]


def test_scanner_finds_a_name_inside_report_text(small_raw, tmp_path):
    known = privacy.raw_identities([small_raw])
    name = sorted(k for k in known if len(k) == 3 and not k.isdigit())[0]
    (tmp_path / "page.html").write_text(f"<p>户主{name}的收入</p>", encoding="utf-8")
    assert [k for _, k, _ in privacy.scan([tmp_path], known)][:1] == ["known value"]


def test_content_detection_names_addresses_and_their_look_alikes():
    names = pd.Series(["欧阳娜娜", "张伟", "李秀英", "王芳", "赵强", "孙丽", "周杰", "吴敏", "郑涛", "冯磊"])
    assert privacy.column_kind(names) == "name"
    # Place names and category labels start with surname characters too, but end like places or repeat.
    assert privacy.column_kind(pd.Series(["张庄村", "李家镇", "王屯", "马寨", "刘庄"] * 4)) is None
    assert privacy.column_kind(pd.Series(["脱贫户", "一般农户", "监测户"] * 10)) is None
    assert privacy.column_kind(pd.Series(["电子商务", "家政服务", "种植养殖"] * 10)) is None
    assert privacy.column_kind(pd.Series(["高明", "高明", "高明", "高明", "高明"] * 10)) is None  # one label
    addresses = pd.Series(["平泰镇张黄3村5组12号", "城关镇解放路108号", "和平社区2栋301号", "东风街7号"])
    assert privacy.column_kind(addresses) == "address"
    assert privacy.column_kind(pd.Series(["平泰镇张黄3村", "城关镇", "和平社区"])) is None
    assert [k for k, _ in privacy.find_identifiers("户籍 城关镇解放路108号")] == ["address"]
    assert privacy.find_identifiers("北岭县 2024 年第 12 号文件; 张黄3村 12 户") == []


def test_scanner_knows_personal_values_found_by_content(tmp_path):
    raw = tmp_path / "raw.csv"
    frame = pd.read_csv("tests/data/bad/names_unknown_header.csv", dtype=str, keep_default_na=False)
    frame.to_csv(raw, index=False)
    known = privacy.raw_identities([raw])
    assert set(frame["联系人"]) <= known and set(frame["户籍信息"]) <= known
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "page.html").write_text(f"<td>{frame['户籍信息'].iloc[0]}</td><td>{frame['联系人'].iloc[0]}</td>",
                                                encoding="utf-8")
    kinds = [k for _, k, _ in privacy.scan([tmp_path / "out"], known)]
    assert sorted(kinds) == ["address", "known value"]
