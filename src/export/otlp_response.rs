//! What comes back from an OTLP trace receiver: the `ExportTraceServiceResponse` read for its
//! partial success (a few fields of protobuf, read by hand rather than with the generated
//! structs), and the gRPC codec that passes tracewire's already encoded request through tonic.

#[cfg(feature = "grpc")]
use bytes::Bytes;

use super::queue::Delivery;

/// An `ExportTraceServiceResponse`: `partial_success` (1) { `rejected_spans` (1),
/// `error_message` (2) }. Anything unreadable counts as full success: the collector said OK.
pub(super) fn partial_success(response: &[u8]) -> Delivery {
    let Some(inner) = field(response, 1) else {
        return Delivery::Sent;
    };
    let rejected = varint_field(inner, 1).unwrap_or(0);
    // A collector's message can be megabytes: it goes into the warning and the report, cut.
    let message = field(inner, 2)
        .map(|m| String::from_utf8_lossy(&m[..m.len().min(512)]).into_owned())
        .unwrap_or_default();
    if rejected == 0 && message.is_empty() {
        Delivery::Sent
    } else {
        Delivery::Partial { rejected, message }
    }
}

/// The first length-delimited field `wanted` of a protobuf message.
fn field(mut msg: &[u8], wanted: u64) -> Option<&[u8]> {
    while !msg.is_empty() {
        let key = read_varint(&mut msg)?;
        match key & 7 {
            0 => {
                read_varint(&mut msg)?;
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(read_varint(&mut msg)?).ok()?;
                let body = msg.get(..len)?;
                msg = &msg[len..];
                if key >> 3 == wanted {
                    return Some(body);
                }
            }
            _ => return None,
        }
    }
    None
}

/// The first varint field `wanted` of a protobuf message.
fn varint_field(mut msg: &[u8], wanted: u64) -> Option<u64> {
    while !msg.is_empty() {
        let key = read_varint(&mut msg)?;
        match key & 7 {
            0 => {
                let v = read_varint(&mut msg)?;
                if key >> 3 == wanted {
                    return Some(v);
                }
            }
            1 => msg = msg.get(8..)?,
            5 => msg = msg.get(4..)?,
            2 => {
                let len = usize::try_from(read_varint(&mut msg)?).ok()?;
                msg = msg.get(len..)?;
            }
            _ => return None,
        }
    }
    None
}

fn read_varint(msg: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let (&b, rest) = msg.split_first()?;
        *msg = rest;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// The request is already protobuf: tonic frames (and compresses) it as it is; the response is
/// kept as bytes for [`partial_success`].
#[cfg(feature = "grpc")]
pub(super) struct PassThrough;

#[cfg(feature = "grpc")]
impl tonic::codec::Codec for PassThrough {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = PassThrough;
    type Decoder = PassThrough;

    fn encoder(&mut self) -> PassThrough {
        PassThrough
    }

    fn decoder(&mut self) -> PassThrough {
        PassThrough
    }
}

#[cfg(feature = "grpc")]
impl tonic::codec::Encoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(
        &mut self,
        item: Bytes,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use bytes::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

#[cfg(feature = "grpc")]
impl tonic::codec::Decoder for PassThrough {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Bytes>, tonic::Status> {
        use bytes::Buf as _;
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_success_is_read_from_the_response() {
        // partial_success { rejected_spans: 3, error_message: "too old" }
        let mut inner = vec![0x08, 3, 0x12, 7];
        inner.extend_from_slice(b"too old");
        let mut response = vec![0x0a, inner.len() as u8];
        response.extend_from_slice(&inner);
        match partial_success(&response) {
            Delivery::Partial { rejected, message } => {
                assert_eq!((rejected, message.as_str()), (3, "too old"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(partial_success(&[]), Delivery::Sent));
        // An empty partial_success message: full success.
        assert!(matches!(partial_success(&[0x0a, 0]), Delivery::Sent));
        // Garbage is not a failure: the collector answered OK.
        assert!(matches!(partial_success(&[0xff, 0xff]), Delivery::Sent));
    }
}
