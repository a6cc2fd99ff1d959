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

/// Largest event (raw bytes, blank line included) the reader holds; a
/// longer one ends the stream with [`EventTooLong`].
pub const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// An event grew past the reader's cap before it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a stream event was larger than {limit} bytes")]
pub struct EventTooLong {
    pub limit: usize,
}

/// Cuts bytes into events in linear time: every byte is looked at once by
/// the line search (which resumes where it stopped), and the buffer is
/// compacted only when events have completed.
#[derive(Debug)]
pub struct SseReader {
    buf: Vec<u8>,
    /// Where the current line begins.
    line: usize,
    /// Where the search for the current line's end resumes.
    search: usize,
    /// Where the current event's raw bytes begin.
    start: usize,
    limit: usize,
    event: Option<String>,
    data: Option<String>,
    /// Bytes the line search has looked at, to check it stays linear.
    #[cfg(test)]
    scanned: usize,
}

impl Default for SseReader {
    fn default() -> Self {
        Self::with_limit(MAX_EVENT_BYTES)
    }
}

impl SseReader {
    pub fn new() -> Self {
        Self::default()
    }

    /// A reader refusing events longer than `limit` bytes.
    pub fn with_limit(limit: usize) -> Self {
        Self {
            buf: Vec::new(),
            line: 0,
            search: 0,
            start: 0,
            limit,
            event: None,
            data: None,
            #[cfg(test)]
            scanned: 0,
        }
    }

    /// Adds bytes and appends every event they complete to `out`. An event
    /// longer than the limit is an error (events completed before it are in
    /// `out`); the reader is then of no further use.
    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLong> {
        self.buf.extend_from_slice(bytes);
        while let Some((line_end, next)) = self.next_line() {
            if next - self.start > self.limit {
                return Err(EventTooLong { limit: self.limit });
            }
            if line_end == self.line {
                let raw = self.buf[self.start..next].to_vec();
                out.push(SseEvent {
                    raw,
                    event: self.event.take(),
                    data: self.data.take(),
                });
                self.start = next;
            } else {
                let line = String::from_utf8_lossy(&self.buf[self.line..line_end]).into_owned();
                self.field(&line);
            }
            self.line = next;
            self.search = next;
        }
        if self.buf.len() - self.start > self.limit {
            return Err(EventTooLong { limit: self.limit });
        }
        // Forget what has been handed out, keeping the partial event.
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.line -= self.start;
            self.search -= self.start;
            self.start = 0;
        }
        Ok(())
    }

    /// Bytes of an event that never completed (the stream ended mid-event).
    pub fn finish(&mut self) -> Vec<u8> {
        self.line = 0;
        self.search = 0;
        self.start = 0;
        self.event = None;
        self.data = None;
        std::mem::take(&mut self.buf)
    }

    /// The end of the current line: (end of its content, start of the next
    /// line). A lone `\r` at the end of the buffer waits: a `\n` may follow.
    /// Where nothing ends the line yet, the search resumes there next time.
    fn next_line(&mut self) -> Option<(usize, usize)> {
        let rest = &self.buf[self.search..];
        let found = rest.iter().position(|&b| b == b'\n' || b == b'\r');
        #[cfg(test)]
        {
            self.scanned += found.map_or(rest.len(), |i| i + 1);
        }
        let Some(i) = found else {
            self.search = self.buf.len();
            return None;
        };
        let end = self.search + i;
        if rest[i] == b'\n' {
            return Some((end, end + 1));
        }
        match rest.get(i + 1) {
            Some(b'\n') => Some((end, end + 2)),
            Some(_) => Some((end, end + 1)),
            None => {
                self.search = end;
                None
            }
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
        let mut out = Vec::new();
        for p in pieces {
            r.feed(p, &mut out).unwrap();
        }
        out
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
        let mut out = Vec::new();
        r.feed(b"data: {\"partial\"", &mut out).unwrap();
        assert!(out.is_empty());
        assert_eq!(r.finish(), b"data: {\"partial\"".to_vec());
    }

    #[test]
    fn a_long_line_in_small_pieces_is_read_in_linear_time() {
        // Rescanning the partial line on every piece is quadratic: a 64 MB
        // line took seconds of CPU. Each byte is now looked at once.
        let mut r = SseReader::with_limit(usize::MAX);
        let mut out = Vec::new();
        let piece = [b'x'; 64];
        let mut input = 0;
        for bytes in std::iter::once(&b"data: "[..])
            .chain(std::iter::repeat_n(&piece[..], 16 * 1024))
            .chain(std::iter::once(&b"\n\n"[..]))
        {
            r.feed(bytes, &mut out).unwrap();
            input += bytes.len();
        }
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].data.as_ref().map(String::len), Some(1024 * 1024));
        assert!(r.scanned <= input, "looked at {} bytes of {input}", r.scanned);
    }

    #[test]
    fn events_over_the_limit_are_refused_whole_or_partial() {
        let mut r = SseReader::with_limit(16);
        let mut out = Vec::new();
        r.feed(b"data: ok\n\n", &mut out).unwrap();
        assert_eq!(out.len(), 1);
        let err = r.feed(b"data: 0123456789abcdef\n\n", &mut out).unwrap_err();
        assert_eq!(err.limit, 16);
        assert_eq!(out.len(), 1, "events before the long one are kept");
        let mut r = SseReader::with_limit(16);
        assert!(r.feed(b"data: 0123456789a", &mut out).is_err(), "a partial one too");
        let mut r = SseReader::new();
        let long = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert!(r.feed(&long, &mut out).is_err(), "the default limit");
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    /// Feeds `input` cut at `cuts` (sorted, deduplicated offsets).
    fn feed_in_pieces(input: &[u8], cuts: &[usize]) -> (Vec<SseEvent>, Vec<u8>) {
        let mut r = SseReader::new();
        let mut out = Vec::new();
        let mut at = 0;
        for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
            let cut = cut.clamp(at, input.len());
            r.feed(&input[at..cut], &mut out).unwrap();
            at = cut;
        }
        let rest = r.finish();
        (out, rest)
    }

    fn bytes_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
        // Bytes rich in the ones that matter to the format.
        let byte = prop_oneof![
            Just(b'\n'),
            Just(b'\r'),
            Just(b':'),
            Just(b' '),
            Just(b'd'),
            any::<u8>()
        ];
        proptest::collection::vec(byte, 0..400).prop_flat_map(|input| {
            let n = input.len();
            let cuts = proptest::collection::btree_set(0..=n, 0..20).prop_map(|s| s.into_iter().collect());
            (Just(input), cuts)
        })
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_input_back_and_the_same_events((input, cuts) in bytes_and_cuts()) {
            let (events, rest) = feed_in_pieces(&input, &cuts);
            let mut raw: Vec<u8> = events.iter().flat_map(|e| e.raw.iter().copied()).collect();
            raw.extend_from_slice(&rest);
            prop_assert_eq!(&raw, &input);
            let (whole, whole_rest) = feed_in_pieces(&input, &[]);
            prop_assert_eq!(events, whole);
            prop_assert_eq!(rest, whole_rest);
        }

        #[test]
        fn valid_events_round_trip(
            events in proptest::collection::vec(
                (proptest::option::of("[a-z_]{1,12}"), proptest::collection::vec("[^\r\n]{0,20}", 1..4)),
                0..8,
            ),
            cuts in proptest::collection::btree_set(0usize..2000, 0..20),
        ) {
            let mut input = Vec::new();
            for (name, lines) in &events {
                if let Some(name) = name {
                    input.extend_from_slice(format!("event: {name}\n").as_bytes());
                }
                for line in lines {
                    input.extend_from_slice(format!("data: {line}\n").as_bytes());
                }
                input.push(b'\n');
            }
            let cuts: Vec<usize> = cuts.into_iter().collect();
            let (read, rest) = feed_in_pieces(&input, &cuts);
            prop_assert!(rest.is_empty());
            prop_assert_eq!(read.len(), events.len());
            for (got, (name, lines)) in read.iter().zip(&events) {
                prop_assert_eq!(&got.event, name);
                prop_assert_eq!(got.data.clone(), Some(lines.join("\n")));
            }
        }
    }
}
