//! Capturing one output stream under a byte cap: the head and the tail are
//! kept (half the cap each), the full count is reported, and UTF-8 validity is
//! tracked over the whole stream (not only the kept parts) so "lossy" means
//! the command really printed non-UTF-8.

use std::collections::VecDeque;

/// One captured stream.
#[derive(Debug, Clone)]
pub struct CappedBuffer {
    head_cap: usize,
    tail_cap: usize,
    head: Vec<u8>,
    tail: VecDeque<u8>,
    total: u64,
    utf8_ok: bool,
    /// Bytes of an incomplete UTF-8 sequence at the end of the last chunk.
    pending: Vec<u8>,
}

/// The captured stream, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub text: String,
    pub total_bytes: u64,
    pub truncated: bool,
    pub lossy: bool,
}

impl CappedBuffer {
    /// A buffer that keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        let head_cap = cap / 2;
        Self {
            head_cap,
            tail_cap: cap - head_cap,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
            utf8_ok: true,
            pending: Vec::new(),
        }
    }

    /// Appends a chunk.
    pub fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        self.track_utf8(data);
        if self.head.len() < self.head_cap {
            let n = (self.head_cap - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
        }
        if data.is_empty() {
            return;
        }
        if data.len() >= self.tail_cap {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.tail_cap..]);
        } else {
            self.tail.extend(data);
            let over = self.tail.len().saturating_sub(self.tail_cap);
            self.tail.drain(..over);
        }
    }

    fn track_utf8(&mut self, data: &[u8]) {
        if !self.utf8_ok {
            return;
        }
        let joined;
        let bytes = if self.pending.is_empty() {
            data
        } else {
            joined = [self.pending.as_slice(), data].concat();
            &joined
        };
        match std::str::from_utf8(bytes) {
            Ok(_) => self.pending.clear(),
            Err(e) if e.error_len().is_none() => {
                self.pending = bytes[e.valid_up_to()..].to_vec();
            }
            Err(_) => self.utf8_ok = false,
        }
    }

    /// Bytes seen so far.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Decodes what was kept.
    pub fn finish(&self) -> Captured {
        let lossy = !self.utf8_ok || !self.pending.is_empty();
        let kept = (self.head.len() + self.tail.len()) as u64;
        let truncated = self.total > kept;
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        let text = if truncated {
            // Cut on character boundaries so a clean stream stays clean.
            let head = &self.head[..utf8_prefix_len(&self.head)];
            let skip = tail
                .iter()
                .take(3)
                .take_while(|b| (**b & 0xC0) == 0x80)
                .count();
            format!(
                "{}\n[... {} bytes omitted by cluster-exec: output over the cap ...]\n{}",
                String::from_utf8_lossy(head),
                self.total - kept,
                String::from_utf8_lossy(&tail[skip..])
            )
        } else {
            let mut all = self.head.clone();
            all.extend_from_slice(&tail);
            String::from_utf8_lossy(&all).into_owned()
        };
        Captured {
            text,
            total_bytes: self.total,
            truncated,
            lossy,
        }
    }
}

/// Length of `b` without a trailing incomplete UTF-8 sequence.
fn utf8_prefix_len(b: &[u8]) -> usize {
    match std::str::from_utf8(b) {
        Ok(_) => b.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => b.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_output_is_kept_whole() {
        let mut b = CappedBuffer::new(100);
        b.push(b"hello ");
        b.push(b"world");
        let c = b.finish();
        assert_eq!(c.text, "hello world");
        assert_eq!(c.total_bytes, 11);
        assert!(!c.truncated && !c.lossy);
    }

    #[test]
    fn big_output_keeps_head_and_tail_and_counts_everything() {
        let mut b = CappedBuffer::new(20);
        for i in 0..1000u32 {
            b.push(format!("{:04}\n", i).as_bytes());
        }
        let c = b.finish();
        assert!(c.truncated);
        assert_eq!(c.total_bytes, 5000);
        assert!(c.text.starts_with("0000\n0001\n"), "{}", c.text);
        assert!(c.text.ends_with("0998\n0999\n"), "{}", c.text);
        assert!(c.text.contains("4980 bytes omitted"));
    }

    #[test]
    fn split_multibyte_characters_are_not_lossy() {
        let s = "héllo wörld ✓".as_bytes();
        let mut b = CappedBuffer::new(1000);
        for byte in s {
            b.push(std::slice::from_ref(byte));
        }
        let c = b.finish();
        assert!(!c.lossy);
        assert_eq!(c.text, "héllo wörld ✓");
    }

    #[test]
    fn invalid_utf8_is_flagged_and_decoded_lossily() {
        let mut b = CappedBuffer::new(1000);
        b.push(&[b'a', 0xff, 0xfe, b'b']);
        let c = b.finish();
        assert!(c.lossy);
        assert_eq!(c.text, "a\u{fffd}\u{fffd}b");
    }

    #[test]
    fn truncation_cuts_on_character_boundaries() {
        let mut b = CappedBuffer::new(11);
        b.push("ééééééééééééé".as_bytes());
        let c = b.finish();
        assert!(c.truncated && !c.lossy);
        assert!(!c.text.contains('\u{fffd}'), "{}", c.text);
    }
}
