//! Where headers live: HTTP header maps, string maps, byte-valued lists as brokers use them.

use std::collections::HashMap;

/// Reads headers from a carrier. Implement it for your own message type.
///
/// ```
/// struct Message { headers: Vec<(String, String)> }
///
/// impl tracewire::propagation::Extract for Message {
///     fn get_all(&self, name: &str) -> Vec<&str> {
///         self.headers.iter()
///             .filter(|(k, _)| k.eq_ignore_ascii_case(name))
///             .map(|(_, v)| v.as_str())
///             .collect()
///     }
/// }
/// let m = Message { headers: vec![] };
/// let cx = tracewire::propagation::extract(&m);
/// # let _ = cx;
/// ```
pub trait Extract {
    /// Every value of header `name` (compared ignoring ASCII case), in order. Values that are
    /// not text are left out.
    fn get_all(&self, name: &str) -> Vec<&str>;
}

/// Writes headers into a carrier. Implement it for your own message type.
///
/// ```
/// struct Message { headers: Vec<(String, String)> }
///
/// impl tracewire::propagation::Inject for Message {
///     fn set(&mut self, name: &str, value: String) {
///         self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
///         self.headers.push((name.to_string(), value));
///     }
/// }
/// let mut m = Message { headers: vec![] };
/// tracewire::propagation::inject(&mut m);
/// ```
pub trait Inject {
    /// Sets header `name` to `value`, replacing earlier values.
    fn set(&mut self, name: &str, value: String);
}

impl Extract for http::HeaderMap {
    fn get_all(&self, name: &str) -> Vec<&str> {
        http::HeaderMap::get_all(self, name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect()
    }
}

impl Inject for http::HeaderMap {
    fn set(&mut self, name: &str, value: String) {
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::try_from(name),
            http::HeaderValue::try_from(value),
        ) {
            self.insert(n, v);
        }
    }
}

impl<S: std::hash::BuildHasher> Extract for HashMap<String, String, S> {
    fn get_all(&self, name: &str) -> Vec<&str> {
        match self.get(name) {
            Some(v) => vec![v.as_str()],
            None => self
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
                .collect(),
        }
    }
}

impl<S: std::hash::BuildHasher> Inject for HashMap<String, String, S> {
    fn set(&mut self, name: &str, value: String) {
        self.retain(|k, _| !k.eq_ignore_ascii_case(name));
        self.insert(name.to_string(), value);
    }
}

/// Byte-valued headers, as Kafka and other brokers carry them.
impl Extract for Vec<(String, Vec<u8>)> {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.as_slice().get_all(name)
    }
}

impl Extract for [(String, Vec<u8>)] {
    fn get_all(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .filter_map(|(_, v)| std::str::from_utf8(v).ok())
            .collect()
    }
}

impl Inject for Vec<(String, Vec<u8>)> {
    fn set(&mut self, name: &str, value: String) {
        self.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        self.push((name.to_string(), value.into_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_map_keeps_repeated_values() {
        let mut h = http::HeaderMap::new();
        h.append("tracestate", "a=1".parse().unwrap());
        h.append("TraceState", "b=2".parse().unwrap());
        h.append(
            "tracestate",
            http::HeaderValue::from_bytes(b"\xff").unwrap(),
        );
        assert_eq!(Extract::get_all(&h, "tracestate"), vec!["a=1", "b=2"]);
    }

    #[test]
    fn byte_headers_skip_non_utf8() {
        let h = vec![
            ("Baggage".to_string(), b"k=v".to_vec()),
            ("baggage".to_string(), vec![0xff]),
        ];
        assert_eq!(h.get_all("baggage"), vec!["k=v"]);
    }
}
