//! An incremental Server-Sent Events reader. Bytes arrive in arbitrary
//! pieces; complete events come out with their exact raw bytes, so the
//! gateway can forward them unchanged (or hold one back) while reading them.

/// One complete event: its raw bytes (terminating blank line included) and
/// its parsed fields. Comment-only blocks (keep-alives) have no data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    pub raw: Vec<u8>,
    pub event: Option<String>,
    pub data: Option<String>,
}

#[derive(Debug, Default)]
pub struct SseReader {
    buf: Vec<u8>,
    /// Where scanning for the next line resumes.
    scan: usize,
    /// Where the current event's raw bytes begin.
    start: usize,
    event: Option<String>,
    data: Option<String>,
}

impl SseReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds bytes and returns every event they complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<SseEvent> {
        self.buf.extend_from_slice(bytes);
        let mut out = Vec::new();
        while let Some((line_end, next)) = self.next_line() {
            let line = &self.buf[self.scan..line_end];
            if line.is_empty() {
                let raw = self.buf[self.start..next].to_vec();
                out.push(SseEvent {
                    raw,
                    event: self.event.take(),
                    data: self.data.take(),
                });
                self.start = next;
            } else {
                let line = String::from_utf8_lossy(line).into_owned();
                self.field(&line);
            }
            self.scan = next;
        }
        // Forget what has been handed out, keeping the partial event.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.scan -= self.start;
            self.start = 0;
        }
        out
    }

    /// Bytes of an event that never completed (the stream ended mid-event).
    pub fn finish(&mut self) -> Vec<u8> {
        self.scan = 0;
        self.start = 0;
        self.event = None;
        self.data = None;
        std::mem::take(&mut self.buf)
    }

    /// The next complete line from `scan`: (end of its content, start of the next line).
    /// A lone `\r` at the end of the buffer waits: a `\n` may follow.
    fn next_line(&self) -> Option<(usize, usize)> {
        let rest = &self.buf[self.scan..];
        let i = rest.iter().position(|&b| b == b'\n' || b == b'\r')?;
        let end = self.scan + i;
        if rest[i] == b'\n' {
            return Some((end, end + 1));
        }
        match rest.get(i + 1) {
            Some(b'\n') => Some((end, end + 2)),
            Some(_) => Some((end, end + 1)),
            None => None,
        }
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((n, v)) => (n, v.strip_prefix(' ').unwrap_or(v)),
            None => (line, ""),
        };
        match name {
            "data" => match &mut self.data {
                Some(d) => {
                    d.push('\n');
                    d.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            },
            "event" => self.event = Some(value.to_owned()),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(pieces: &[&[u8]]) -> Vec<SseEvent> {
        let mut r = SseReader::new();
        pieces.iter().flat_map(|p| r.feed(p)).collect()
    }

    #[test]
    fn splits_events_across_reads_and_keeps_raw_bytes() {
        let stream = b"data: {\"a\":1}\n\n: keep-alive\n\nevent: message_stop\ndata: {}\r\n\r\ndata: [DONE]\n\n";
        let whole = all(&[stream]);
        for cut in 1..stream.len() {
            let (a, b) = stream.split_at(cut);
            assert_eq!(all(&[a, b]), whole, "cut at {cut}");
        }
        let bytewise: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(all(&bytewise), whole);
        assert_eq!(whole.len(), 4);
        assert_eq!(whole[0].data.as_deref(), Some("{\"a\":1}"));
        assert_eq!(whole[1].data, None, "comment block");
        assert_eq!(whole[2].event.as_deref(), Some("message_stop"));
        assert_eq!(whole[3].data.as_deref(), Some("[DONE]"));
        let raw: Vec<u8> = whole.iter().flat_map(|e| e.raw.clone()).collect();
        assert_eq!(raw, stream.to_vec(), "raw bytes concatenate to the input");
    }

    #[test]
    fn multi_line_data_and_bare_fields() {
        let events = all(&[b"data:a\ndata: b\nid: 7\nretry: 10\nevent\n\n"]);
        assert_eq!(events[0].data.as_deref(), Some("a\nb"));
        assert_eq!(events[0].event.as_deref(), Some(""));
    }

    #[test]
    fn carriage_returns_alone_end_lines() {
        // A `\r` at the end of what has arrived may still be followed by `\n`.
        assert_eq!(all(&[b"data: x\r", b"\rdata: y\r\r"]).len(), 1);
        let events = all(&[b"data: x\r", b"\rdata: y\r\r", b":"]);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data.as_deref(), Some("y"));
    }

    #[test]
    fn unfinished_event_is_returned_by_finish() {
        let mut r = SseReader::new();
        assert!(r.feed(b"data: {\"partial\"").is_empty());
        assert_eq!(r.finish(), b"data: {\"partial\"".to_vec());
    }
}
