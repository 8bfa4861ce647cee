//! Attachment lists and `GETFILEDATA` bodies: the shapes iptux and IP Messenger write,
//! escapes, hex or decimal numbers, and what is refused.

use super::files::*;
use super::{MAX_FILE_NAME, MAX_FILES};

#[test]
fn iptux_offer_list_reads() {
    let files = parse_file_list("10000:blob.bin:30d40:6b0659a7:1:\x07").unwrap();
    assert_eq!(
        files,
        [FileInfo::regular(10000, "blob.bin", 200_000, 0x6b06_59a7)]
    );
    assert_eq!(files[0].kind(), FileKind::Regular);
    assert_eq!(
        encode_file_list(&files),
        "10000:blob.bin:30d40:6b0659a7:1:\x07"
    );
}

#[test]
fn several_entries_colons_in_names_and_ext_attributes() {
    let list = "0:a::b.txt:a:0:1:14=5f:16=60:\x07:1:目录:0:0:2:\x072:c.txt:0:0:1:\x07";
    let files = parse_file_list(list).unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0].name, "a:b.txt");
    assert_eq!(files[0].size, 10);
    assert_eq!(
        files[0].ext,
        [("14".into(), "5f".into()), ("16".into(), "60".into())]
    );
    assert_eq!(
        (files[1].name.as_str(), files[1].kind()),
        ("目录", FileKind::Directory)
    );
    assert_eq!(files[2].id, 2);
    assert_eq!(parse_file_list(&encode_file_list(&files)).unwrap(), files);
}

#[test]
fn an_attribute_value_may_hold_an_equals_sign() {
    // Found by the fuzzer: `14==x` is key `14`, value `=x`, and stays so.
    let files = parse_file_list("1:n:1:0:1:14==x:\x07").unwrap();
    assert_eq!(files[0].ext, [("14".into(), "=x".into())]);
    assert_eq!(parse_file_list(&encode_file_list(&files)).unwrap(), files);
}

#[test]
fn a_name_ending_in_a_colon_survives() {
    let f = [FileInfo::regular(7, "odd:", 3, 0)];
    let list = encode_file_list(&f);
    assert_eq!(list, "7:odd:::3:0:1:\x07");
    assert_eq!(parse_file_list(&list).unwrap(), f);
}

#[test]
fn hex_ids_are_read_when_they_cannot_be_decimal() {
    let files = parse_file_list("2a:x:1:0:1:\x07").unwrap();
    assert_eq!(files[0].id, 42);
    assert_eq!(parse_file_list("10:x:1\x07").unwrap()[0].id, 10);
}

#[test]
fn bad_lists_are_refused_with_a_reason() {
    for bad in [
        "nocolon\x07",
        "zz:name:1:0:1:\x07",
        "1::5:0:1:\x07",
        "1:name\x07",
        "1:name:xyz:0:1:\x07",
        "1:name:11111111111111111:0:1:\x07",
        "1:name:-1:0:1:\x07",
        "1:name:1:0:q:\x07",
    ] {
        let err = parse_file_list(bad).unwrap_err();
        assert_eq!(err.label(), "bad_file_list", "{bad:?}: {err}");
    }
    let many = "1:n:1:0:1:\x07".repeat(MAX_FILES + 1);
    assert_eq!(parse_file_list(&many).unwrap_err().label(), "too_many");
    let long = format!("1:{}:1:0:1:\x07", "n".repeat(MAX_FILE_NAME + 1));
    assert_eq!(parse_file_list(&long).unwrap_err().label(), "too_long");
}

#[test]
fn names_cannot_break_the_list() {
    let f = [FileInfo::regular(1, "a\x07b\0c", 1, 0)];
    assert_eq!(
        parse_file_list(&encode_file_list(&f)).unwrap()[0].name,
        "abc"
    );
}

#[test]
fn getfiledata_bodies_hex_or_decimal() {
    // Ours to iptux: offer 9, file 10000, from 0.
    let req = FileRequest::new(9, 10_000, 0);
    assert_eq!(req.encode(), "9:2710:0");
    // iptux's to us: offer 0x6b0659ad, file 0.
    let got = FileRequest::parse("6b0659ad:0:0").unwrap();
    assert!(got.packet_no.matches(0x6b06_59ad));
    assert!(got.file_id.matches(0));
    // A client writing the id in decimal still matches; so does the hex reading.
    let dec = FileRequest::parse("9:10000:1f").unwrap();
    assert!(dec.file_id.matches(10_000) && dec.file_id.matches(0x10000));
    assert_eq!(dec.offset, 0x1f);
    // Leading zeros do not count against the 16 hex digits.
    assert_eq!(
        FileRequest::parse("1:2:00000000000000001f").unwrap().offset,
        0x1f
    );
    // A decimal id too long for hex is written back in decimal.
    let big = FileRequest::parse("1:18446744073709551615:0").unwrap();
    assert_eq!(big.file_id.hex, None);
    assert_eq!(big.encode(), "1:18446744073709551615:0");
    // Extra fields are ignored.
    assert_eq!(FileRequest::parse("1:2:3:ff:x").unwrap().offset, 3);
}

#[test]
fn bad_getfiledata_bodies_are_refused() {
    for bad in [
        "",
        "1",
        "1:2",
        "1:2:",
        "x:2:3",
        "1:y:3",
        "1:2:z",
        "1:2:11111111111111111",
    ] {
        let err = FileRequest::parse(bad).unwrap_err();
        assert_eq!(err.label(), "bad_file_request", "{bad:?}");
    }
}
