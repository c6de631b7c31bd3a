use super::*;

fn codes(findings: &[Finding]) -> Vec<&str> {
    findings.iter().map(|f| f.code.as_str()).collect()
}

/// A minimal JPEG skeleton: SOI, a COM segment, SOS with a little entropy data (incl. stuffing), EOI.
fn jpeg(comment: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xFE];
    out.extend_from_slice(&u16::try_from(comment.len() + 2).unwrap_or(0).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56]);
    out.extend_from_slice(&[0xFF, 0xD9]);
    out.extend_from_slice(tail);
    out
}

#[test]
fn magic_bytes_decide_the_type() {
    assert_eq!(sniff(&jpeg(b"", b"")), Sniffed::Image(ImageType::Jpeg));
    assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Sniffed::Image(ImageType::Png));
    assert_eq!(sniff(b"RIFF\x04\0\0\0WEBPVP8 "), Sniffed::Image(ImageType::Webp));
    assert_eq!(sniff(b"MZ\x90\0"), Sniffed::Other("application/x-msdownload"));
    assert_eq!(sniff(b"  <SVG xmlns="), Sniffed::Other("image/svg+xml"));
    assert_eq!(sniff(b"<!DOCTYPE html><p>"), Sniffed::Other("text/html"));
    assert_eq!(sniff(b""), Sniffed::Other("application/octet-stream"));
}

#[test]
fn the_jpeg_walker_finds_the_end_and_the_comment() {
    let bytes = jpeg(b"hello", b"");
    let layout = layout(&bytes, ImageType::Jpeg);
    assert_eq!(layout.as_ref().map(|l| l.end), Some(bytes.len()));
    assert_eq!(layout.map(|l| l.metadata.first().cloned()), Some(Some(6..11)));
    assert_eq!(
        super::layout(&bytes[..bytes.len() - 2], ImageType::Jpeg),
        None,
        "cut short"
    );
}

#[test]
fn scripts_in_metadata_and_trailing_data_are_found() {
    let php = signatures(
        &jpeg(b"<?php system($_GET['c']); ?>", b""),
        Sniffed::Image(ImageType::Jpeg),
    );
    assert!(codes(&php).contains(&"EMBEDDED_SCRIPT"), "{php:?}");
    let asp = signatures(&jpeg(b"", b"<% eval %>"), Sniffed::Image(ImageType::Jpeg));
    assert!(codes(&asp).contains(&"EMBEDDED_SCRIPT") && codes(&asp).contains(&"TRAILING_DATA"));
    let clean = signatures(&jpeg(b"Exif-ish", b""), Sniffed::Image(ImageType::Jpeg));
    assert_eq!(codes(&clean), ["METADATA_STRIPPED"]);
}

#[test]
fn names_are_checked_without_being_trusted() {
    assert!(check_name("pancakes.jpg").is_empty());
    assert!(check_name("crêpes au sucre.jpeg").is_empty());
    for bad in [
        "../../etc/passwd.jpg",
        "a\\b.jpg",
        "a\0.jpg",
        "a\u{202E}gpj.exe",
        "a\n.jpg",
    ] {
        assert_eq!(codes(&check_name(bad)), ["SUSPICIOUS_FILENAME"], "{bad:?}");
    }
    assert_eq!(codes(&check_name(&"a".repeat(256))), ["SUSPICIOUS_FILENAME"]);
}

#[test]
fn declared_types_and_extensions_must_agree() {
    assert!(check_declared(ImageType::Jpeg, Some("image/jpeg"), "a.JPG").is_empty());
    assert!(check_declared(ImageType::Png, Some("application/octet-stream"), "a.png").is_empty());
    assert_eq!(
        codes(&check_declared(ImageType::Png, Some("image/jpeg"), "a.png")),
        ["TYPE_MISMATCH"]
    );
    assert_eq!(codes(&check_declared(ImageType::Png, None, "a.jpg")), ["TYPE_MISMATCH"]);
    assert_eq!(
        codes(&check_declared(ImageType::Webp, None, "blob")),
        ["MISSING_EXTENSION"]
    );
}

#[test]
fn the_score_table_decides_the_outcome() {
    let f = |severity| Finding::new("X", severity, "");
    assert_eq!(verdict(&[]), (100, Outcome::Promoted));
    assert_eq!(
        verdict(&[f(FindingSeverity::Info), f(FindingSeverity::Low)]),
        (95, Outcome::Promoted)
    );
    assert_eq!(
        verdict(&[f(FindingSeverity::Medium), f(FindingSeverity::Medium)]),
        (70, Outcome::Promoted)
    );
    assert_eq!(verdict(&[f(FindingSeverity::High)]), (65, Outcome::Quarantined));
    assert_eq!(verdict(&[f(FindingSeverity::Critical)]), (0, Outcome::Rejected));
    assert_eq!(
        verdict(&[Finding::new(SCAN_PENDING, FindingSeverity::Info, "")]),
        (100, Outcome::Quarantined)
    );
}
