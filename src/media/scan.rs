//! The static half of the scan: what a file really is (magic bytes, never its name or declared type),
//! whether its name and declared type can be believed, what it carries besides pixels (scripts, executables,
//! EICAR, data after the image's end), and the score that decides its fate. Pure functions over bytes.

use std::ops::Range;

use serde::{Deserialize, Serialize};

/// The image formats we accept, by their magic bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Jpeg,
    Png,
    Webp,
}

impl ImageType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Self::Jpeg => &["jpg", "jpeg", "jpe", "jfif"],
            Self::Png => &["png"],
            Self::Webp => &["webp"],
        }
    }

    fn declared_types(self) -> &'static [&'static str] {
        match self {
            Self::Jpeg => &["image/jpeg", "image/jpg", "image/pjpeg"],
            Self::Png => &["image/png", "image/x-png"],
            Self::Webp => &["image/webp"],
        }
    }

    pub fn format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
        }
    }
}

/// What the first bytes say the file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    Image(ImageType),
    Other(&'static str),
}

impl Sniffed {
    /// The type we record (`application/x-executable`, `text/html`, …).
    pub fn mime(self) -> &'static str {
        match self {
            Self::Image(ty) => ty.mime(),
            Self::Other(mime) => mime,
        }
    }
}

pub fn sniff(bytes: &[u8]) -> Sniffed {
    let lower_head: Vec<u8> = bytes
        .iter()
        .take(512)
        .skip_while(|b| b.is_ascii_whitespace())
        .map(u8::to_ascii_lowercase)
        .collect();
    match bytes {
        [0xFF, 0xD8, 0xFF, ..] => Sniffed::Image(ImageType::Jpeg),
        [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, ..] => Sniffed::Image(ImageType::Png),
        [b'R', b'I', b'F', b'F', _, _, _, _, b'W', b'E', b'B', b'P', ..] => Sniffed::Image(ImageType::Webp),
        [b'G', b'I', b'F', b'8', ..] => Sniffed::Other("image/gif"),
        [b'M', b'Z', ..] => Sniffed::Other("application/x-msdownload"),
        [0x7F, b'E', b'L', b'F', ..] => Sniffed::Other("application/x-executable"),
        [b'#', b'!', ..] => Sniffed::Other("text/x-shellscript"),
        [b'%', b'P', b'D', b'F', ..] => Sniffed::Other("application/pdf"),
        [b'P', b'K', 3, 4, ..] => Sniffed::Other("application/zip"),
        _ if lower_head.starts_with(b"<svg")
            || (lower_head.starts_with(b"<?xml") && contains(&lower_head, b"<svg")) =>
        {
            Sniffed::Other("image/svg+xml")
        }
        _ if lower_head.starts_with(b"<!doctype html") || lower_head.starts_with(b"<html") => {
            Sniffed::Other("text/html")
        }
        _ if lower_head.starts_with(b"<?php") => Sniffed::Other("application/x-php"),
        _ => Sniffed::Other("application/octet-stream"),
    }
}

/// How bad a finding is; each lowers the score by its penalty, and one critical finding rejects the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, async_graphql::Enum)]
#[serde(rename_all = "UPPERCASE")]
pub enum FindingSeverity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

impl FindingSeverity {
    pub fn penalty(self) -> i32 {
        match self {
            Self::Info => 0,
            Self::Low => 5,
            Self::Medium => 15,
            Self::High => 35,
            Self::Critical => 100,
        }
    }
}

/// One thing the scanner noticed. Messages never quote the file's name or content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, async_graphql::SimpleObject)]
pub struct Finding {
    /// Stable code (`EMBEDDED_SCRIPT`, `TYPE_MISMATCH`, …; the README lists them).
    pub code: String,
    pub severity: FindingSeverity,
    pub message: String,
}

impl Finding {
    pub fn new(code: &str, severity: FindingSeverity, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            severity,
            message: message.into(),
        }
    }
}

/// What happens to a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, async_graphql::Enum)]
#[graphql(name = "UploadStatus")]
pub enum Outcome {
    /// Safe: re-encoded copies are served.
    Promoted,
    /// Kept in quarantine for an admin (score below 70, or the antivirus could not be asked yet).
    Quarantined,
    /// Refused (a critical finding); nothing is kept.
    Rejected,
}

impl Outcome {
    pub fn as_db(self) -> &'static str {
        match self {
            Self::Promoted => "PROMOTED",
            Self::Quarantined => "QUARANTINED",
            Self::Rejected => "REJECTED",
        }
    }

    pub fn from_db(value: &str) -> Self {
        match value {
            "PROMOTED" => Self::Promoted,
            "QUARANTINED" => Self::Quarantined,
            _ => Self::Rejected,
        }
    }
}

/// Scores below this are quarantined for review.
pub const REVIEW_BELOW: i32 = 70;
/// The finding that holds a file until the antivirus answers.
pub const SCAN_PENDING: &str = "SCAN_PENDING";

/// Score (100 minus the penalties, at least 0) and outcome.
pub fn verdict(findings: &[Finding]) -> (i32, Outcome) {
    let score = (100 - findings.iter().map(|f| f.severity.penalty()).sum::<i32>()).max(0);
    let outcome = if findings.iter().any(|f| f.severity == FindingSeverity::Critical) {
        Outcome::Rejected
    } else if score < REVIEW_BELOW || findings.iter().any(|f| f.code == SCAN_PENDING) {
        Outcome::Quarantined
    } else {
        Outcome::Promoted
    };
    (score, outcome)
}

/// Longest file name accepted without a finding, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// The client's file name is never used to store anything; a hostile one is still worth knowing about.
pub fn check_name(name: &str) -> Vec<Finding> {
    let mut problems = Vec::new();
    if name.contains('/') || name.contains('\\') || name.contains("..") {
        problems.push("path separators or `..`");
    }
    if name.contains('\0') {
        problems.push("a NUL byte");
    }
    if name.chars().any(|c| c.is_control() && c != '\0') {
        problems.push("control characters");
    }
    if name.chars().any(is_bidi_control) {
        problems.push("bidirectional override characters");
    }
    if name.len() > MAX_NAME_BYTES {
        problems.push("more than 255 bytes");
    }
    if problems.is_empty() {
        return Vec::new();
    }
    vec![Finding::new(
        "SUSPICIOUS_FILENAME",
        FindingSeverity::High,
        format!("the file name contains {}", problems.join(", ")),
    )]
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The declared content type and the name's extension must agree with the bytes. Generic declarations
/// (`application/octet-stream`, none) are not held against a file; a name without an extension is (a little).
pub fn check_declared(ty: ImageType, declared_type: Option<&str>, name: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let declared = declared_type
        .map(|t| t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty() && t != "application/octet-stream");
    if let Some(declared) = declared {
        if !ty.declared_types().contains(&declared.as_str()) {
            findings.push(Finding::new(
                "TYPE_MISMATCH",
                FindingSeverity::High,
                format!("declared as {} but the content is {}", clip(&declared, 60), ty.mime()),
            ));
        }
    }
    let extension = name
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| !ext.is_empty() && ext.len() <= 10);
    match extension {
        Some(ext) if ty.extensions().contains(&ext.as_str()) => {}
        Some(_) => findings.push(Finding::new(
            "TYPE_MISMATCH",
            FindingSeverity::High,
            format!("the file name's extension does not match its content ({})", ty.mime()),
        )),
        None => findings.push(Finding::new(
            "MISSING_EXTENSION",
            FindingSeverity::Low,
            "the file name has no image extension",
        )),
    }
    findings
}

/// Where the image ends and where its metadata (EXIF, XMP, comments, text chunks) sits.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Layout {
    pub end: usize,
    pub metadata: Vec<Range<usize>>,
}

/// `None` when the container is cut short or malformed (the decoder then reports it).
pub fn layout(bytes: &[u8], ty: ImageType) -> Option<Layout> {
    match ty {
        ImageType::Jpeg => jpeg_layout(bytes),
        ImageType::Png => png_layout(bytes),
        ImageType::Webp => webp_layout(bytes),
    }
}

fn be16(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_be_bytes(bytes.get(at..at + 2)?.try_into().ok()?)))
}

fn be32(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()
}

fn jpeg_layout(bytes: &[u8]) -> Option<Layout> {
    let mut layout = Layout::default();
    let mut at = 2;
    loop {
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        while *bytes.get(at + 1)? == 0xFF {
            at += 1;
        }
        let marker = *bytes.get(at + 1)?;
        match marker {
            0xD9 => {
                layout.end = at + 2;
                return Some(layout);
            }
            0x01 | 0xD0..=0xD7 => at += 2,
            _ => {
                let length = be16(bytes, at + 2)?;
                let segment = at + 4..at + 2 + length;
                if length < 2 || segment.end > bytes.len() {
                    return None;
                }
                // APP0 holding the standard JFIF header is format plumbing, not metadata.
                let jfif = marker == 0xE0 && bytes.get(segment.clone()).is_some_and(|b| b.starts_with(b"JFIF\0"));
                if matches!(marker, 0xE0..=0xEF | 0xFE) && !jfif {
                    layout.metadata.push(segment.clone());
                }
                at = segment.end;
                if marker == 0xDA {
                    // Entropy-coded data runs to the next marker that is not a stuffed 0x00 or a restart.
                    loop {
                        let ff = at + memchr(0xFF, bytes.get(at..)?)?;
                        match *bytes.get(ff + 1)? {
                            0x00 | 0xD0..=0xD7 | 0xFF => at = ff + 1,
                            _ => {
                                at = ff;
                                break;
                            }
                        }
                    }
                }
            }
        }
    }
}

fn png_layout(bytes: &[u8]) -> Option<Layout> {
    let mut layout = Layout::default();
    let mut at = 8;
    loop {
        let length = be32(bytes, at)?;
        let kind = bytes.get(at + 4..at + 8)?;
        let data = at + 8..(at + 8).checked_add(length)?;
        let next = data.end.checked_add(4)?;
        if next > bytes.len() {
            return None;
        }
        if matches!(kind, b"tEXt" | b"zTXt" | b"iTXt" | b"eXIf" | b"iCCP") {
            layout.metadata.push(data);
        }
        if kind == b"IEND" {
            layout.end = next;
            return Some(layout);
        }
        at = next;
    }
}

fn webp_layout(bytes: &[u8]) -> Option<Layout> {
    let le32 = |at: usize| -> Option<usize> {
        usize::try_from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()
    };
    let end = 8usize.checked_add(le32(4)?)?;
    if end > bytes.len() {
        return None;
    }
    let mut layout = Layout {
        end,
        metadata: Vec::new(),
    };
    let mut at = 12;
    while at + 8 <= end {
        let size = le32(at + 4)?;
        let data = at + 8..(at + 8).checked_add(size)?.min(end);
        if matches!(bytes.get(at..at + 4)?, b"EXIF" | b"XMP " | b"ICCP") {
            layout.metadata.push(data.clone());
        }
        at = data.end + (size & 1);
    }
    Some(layout)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

/// Case-insensitive search (patterns are given in lower case).
fn contains(haystack: &[u8], pattern: &[u8]) -> bool {
    haystack
        .windows(pattern.len())
        .any(|w| w.iter().zip(pattern).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

/// Markup and script openers: long enough not to occur by chance in compressed pixels, so searched everywhere.
const SCRIPT_MARKERS: &[&[u8]] = &[
    b"<?php",
    b"<script",
    b"<svg",
    b"<html",
    b"<!doctype",
    b"<iframe",
    b"<object",
    b"<embed",
    b"javascript:",
];
/// Short openers (`<%` of ASP/JSP, `<?` of PHP short tags): only where text lives (metadata, trailing data).
const SHORT_SCRIPT_MARKERS: &[&[u8]] = &[b"<%", b"<?="];
const EICAR: &[u8] = b"eicar-standard-antivirus-test-file";
const EXECUTABLE_MARKERS: &[&[u8]] = &[
    b"this program cannot be run in dos mode",
    b"\x7felf\x01\x01\x01",
    b"\x7felf\x02\x01\x01",
];

/// Byte-pattern rules (see the README for why not YARA): scripts, executables, EICAR, trailing data.
pub fn signatures(bytes: &[u8], sniffed: Sniffed) -> Vec<Finding> {
    let mut findings = Vec::new();
    if contains(bytes, EICAR) {
        findings.push(Finding::new(
            "MALWARE_SIGNATURE",
            FindingSeverity::Critical,
            "the file carries the EICAR anti-virus test signature",
        ));
    }
    match sniffed {
        Sniffed::Other(mime @ ("application/x-msdownload" | "application/x-executable" | "text/x-shellscript")) => {
            findings.push(Finding::new(
                "EXECUTABLE",
                FindingSeverity::Critical,
                format!("the file is a program ({mime}), not an image"),
            ));
        }
        Sniffed::Other(mime) => findings.push(Finding::new(
            "UNSUPPORTED_TYPE",
            FindingSeverity::Critical,
            format!("the content is {mime}; only JPEG, PNG and WebP images are accepted"),
        )),
        Sniffed::Image(_) => {}
    }
    let text_regions: Vec<&[u8]> = match sniffed {
        Sniffed::Image(ty) => match layout(bytes, ty) {
            Some(layout) => {
                let trailing = &bytes[layout.end..];
                if trailing.iter().any(|b| *b != 0) {
                    findings.push(Finding::new(
                        "TRAILING_DATA",
                        FindingSeverity::High,
                        format!("{} bytes follow the end of the image", trailing.len()),
                    ));
                }
                let metadata_bytes: usize = layout.metadata.iter().map(ExactSizeIterator::len).sum();
                if metadata_bytes > 64 * 1024 {
                    findings.push(Finding::new(
                        "LARGE_METADATA",
                        FindingSeverity::Medium,
                        format!("{metadata_bytes} bytes of metadata (removed from the served copies)"),
                    ));
                } else if !layout.metadata.is_empty() {
                    findings.push(Finding::new(
                        "METADATA_STRIPPED",
                        FindingSeverity::Info,
                        "metadata (EXIF, location, comments) is removed from the served copies",
                    ));
                }
                let mut regions: Vec<&[u8]> = layout.metadata.iter().filter_map(|r| bytes.get(r.clone())).collect();
                regions.push(trailing);
                regions
            }
            None => {
                // Decoders fill in a cut-off image with grey; a missing end is a broken or doctored file.
                findings.push(Finding::new(
                    "TRUNCATED",
                    FindingSeverity::Critical,
                    "the image ends before its end marker (truncated or malformed)",
                ));
                vec![bytes]
            }
        },
        Sniffed::Other(_) => vec![bytes],
    };
    let script = SCRIPT_MARKERS.iter().any(|m| contains(bytes, m))
        || text_regions
            .iter()
            .any(|region| SHORT_SCRIPT_MARKERS.iter().any(|m| contains(region, m)));
    if script {
        findings.push(Finding::new(
            "EMBEDDED_SCRIPT",
            FindingSeverity::Critical,
            "the file carries markup or script code",
        ));
    }
    if matches!(sniffed, Sniffed::Image(_)) && EXECUTABLE_MARKERS.iter().any(|m| contains(bytes, m)) {
        findings.push(Finding::new(
            "EMBEDDED_EXECUTABLE",
            FindingSeverity::Critical,
            "the file carries an embedded program",
        ));
    }
    findings
}

/// Client text made safe to store or show: no control characters, at most `max` characters.
pub fn clip(text: &str, max: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(max).collect()
}

#[cfg(test)]
mod tests;
