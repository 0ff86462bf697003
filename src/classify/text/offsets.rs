//! Text with a map from every byte back to the original text.
//!
//! Each normalisation stage reads one [`MappedText`] (or the original `&str`) and writes another;
//! every output byte remembers the original byte range of the character (or entity, or cluster) it
//! came from, so a span over normalised text maps back to whole characters of the original.

/// The length of the UTF-8 sequence a leading byte `b` starts.
#[inline]
fn utf8_len(b: u8) -> usize {
    match b {
        0..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

/// A string whose every byte maps to a byte range `[start, end)` of an original text.
#[derive(Debug, Clone, Default)]
pub struct MappedText {
    text: String,
    start: Vec<u32>,
    end: Vec<u32>,
}

impl MappedText {
    /// An empty mapped text.
    pub fn new() -> Self {
        Self::default()
    }

    /// Empties the text, keeping the allocations.
    pub fn clear(&mut self) {
        self.text.clear();
        self.start.clear();
        self.end.clear();
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.text.len()
    }

    /// Whether the text is empty.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Cuts the text back to `len` bytes (a char boundary).
    pub fn truncate(&mut self, len: usize) {
        self.text.truncate(len);
        self.start.truncate(len);
        self.end.truncate(len);
    }

    /// Appends a char that came from original bytes `[os, oe)`.
    #[inline]
    pub fn push_char(&mut self, c: char, os: usize, oe: usize) {
        let n = c.len_utf8();
        self.text.push(c);
        for _ in 0..n {
            self.start.push(os as u32);
            self.end.push(oe as u32);
        }
    }

    /// Appends a string that came from original bytes `[os, oe)`.
    #[inline]
    pub fn push_str(&mut self, s: &str, os: usize, oe: usize) {
        self.text.push_str(s);
        for _ in 0..s.len() {
            self.start.push(os as u32);
            self.end.push(oe as u32);
        }
    }

    /// Appends an ASCII text that maps 1:1 onto original bytes starting at `os`.
    #[inline]
    pub fn push_identity_ascii(&mut self, s: &str, os: usize) {
        debug_assert!(s.is_ascii());
        self.text.push_str(s);
        for i in 0..s.len() {
            self.start.push((os + i) as u32);
            self.end.push((os + i + 1) as u32);
        }
    }

    /// Appends `src[from..to]` (char boundaries) with its map: the same as pushing each char
    /// with `src.original(p, p + len)`, because every byte of a char carries the char's range
    /// (all writers push per char or per whole string). A slice copy instead of a loop per char
    /// (`copy_mapped` was 6% of classify instructions).
    pub fn extend_from(&mut self, src: &MappedText, from: usize, to: usize) {
        self.text.push_str(&src.text[from..to]);
        self.start.extend_from_slice(&src.start[from..to]);
        self.end.extend_from_slice(&src.end[from..to]);
    }

    /// Appends the ASCII text `s` lowercased, mapped 1:1 onto original bytes starting at `os`:
    /// the same as [`MappedText::push_char`] of each lowercased byte, in bulk.
    #[inline]
    pub fn push_identity_ascii_lower(&mut self, s: &str, os: usize) {
        debug_assert!(s.is_ascii());
        let m = self.text.len();
        self.text.push_str(s);
        self.text[m..].make_ascii_lowercase();
        let (a, b) = (os as u32, (os + s.len()) as u32);
        self.start.extend(a..b);
        self.end.extend(a + 1..b + 1);
    }

    /// Appends `s`, every char mapped to itself in an original text where `s` starts at `os`:
    /// the same as [`MappedText::push_char`] of each char with its own range, in bulk.
    #[inline]
    pub fn push_identity(&mut self, s: &str, os: usize) {
        self.text.push_str(s);
        let bytes = s.as_bytes();
        // Per byte: the start of its char (the last non-continuation byte) and its end (that
        // byte's position plus the char's length, read from the leading byte).
        let mut cs = os as u32;
        self.start.extend(bytes.iter().enumerate().map(|(k, &b)| {
            if b & 0xC0 != 0x80 {
                cs = (os + k) as u32;
            }
            cs
        }));
        let mut ce = os as u32;
        self.end.extend(bytes.iter().enumerate().map(|(k, &b)| {
            if b & 0xC0 != 0x80 {
                ce = (os + k + utf8_len(b)) as u32;
            }
            ce
        }));
    }

    /// Appends `src[from..to]` (ASCII) lowercased, each byte keeping its map: the same as
    /// [`MappedText::push_char`] of each lowercased byte with `src.original(p, p + 1)`.
    #[inline]
    pub fn extend_ascii_lower_from(&mut self, src: &MappedText, from: usize, to: usize) {
        debug_assert!(src.text[from..to].is_ascii());
        let m = self.text.len();
        self.text.push_str(&src.text[from..to]);
        self.text[m..].make_ascii_lowercase();
        self.start.extend_from_slice(&src.start[from..to]);
        self.end.extend_from_slice(&src.end[from..to]);
    }

    /// The original byte range of normalised bytes `[a, b)` (`a < b <= len`).
    #[inline]
    pub fn original(&self, a: usize, b: usize) -> (usize, usize) {
        if a >= b || b > self.text.len() {
            let p = self.start.get(a).copied().unwrap_or(0) as usize;
            return (p, p);
        }
        (self.start[a] as usize, self.end[b - 1] as usize)
    }

    /// Replaces this text with a copy of `s` mapped 1:1 (every char to itself).
    pub fn set_identity(&mut self, s: &str) {
        self.clear();
        for (i, c) in s.char_indices() {
            self.push_char(c, i, i + c.len_utf8());
        }
    }

    /// Swaps contents with another mapped text (buffers are reused, nothing is copied).
    pub fn swap(&mut self, other: &mut MappedText) {
        std::mem::swap(self, other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bulk_ascii_pushes_equal_per_char_pushes() {
        let mut src = MappedText::new();
        src.push_str("ab", 0, 4);
        src.push_identity_ascii("CdE", 4);
        let (mut a, mut b) = (MappedText::new(), MappedText::new());
        a.extend_ascii_lower_from(&src, 1, 5);
        for p in 1..5 {
            let (os, oe) = src.original(p, p + 1);
            b.push_char(
                src.as_str().as_bytes()[p].to_ascii_lowercase() as char,
                os,
                oe,
            );
        }
        a.push_identity_ascii_lower("xY", 9);
        b.push_char('x', 9, 10);
        b.push_char('y', 10, 11);
        a.push_identity("жq灯😀ё", 11);
        b.push_char('ж', 11, 13);
        b.push_char('q', 13, 14);
        b.push_char('灯', 14, 17);
        b.push_char('😀', 17, 21);
        b.push_char('ё', 21, 23);
        assert_eq!(a.as_str(), b.as_str());
        for i in 0..a.len() {
            assert_eq!(a.original(i, i + 1), b.original(i, i + 1), "{i}");
        }
    }

    #[test]
    fn identity_maps_each_char_to_itself() {
        let mut m = MappedText::new();
        m.set_identity("aж");
        assert_eq!(m.original(0, 1), (0, 1));
        assert_eq!(m.original(1, 3), (1, 3));
        assert_eq!(m.original(0, 3), (0, 3));
    }
}
