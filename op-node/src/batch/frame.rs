//! Frames: pieces of a compressed channel, sized to fit L1 transactions.

/// First byte of batcher calldata: the derivation version.
pub const DERIVATION_VERSION: u8 = 0;
/// Largest frame payload (fits an L1 transaction's calldata with room to spare).
pub const MAX_FRAME_DATA: usize = 120_000;
/// channel id (16) + frame number (2) + data length (4) + is_last (1).
const FRAME_OVERHEAD: usize = 16 + 2 + 4 + 1;

/// One piece of a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Which channel this frame belongs to.
    pub channel_id: [u8; 16],
    /// Its position in the channel, from 0.
    pub number: u16,
    /// The piece of the compressed channel.
    pub data: Vec<u8>,
    /// Whether this is the channel's last frame.
    pub is_last: bool,
}

/// Why batcher calldata could not be read as frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// No bytes at all.
    #[error("empty calldata")]
    Empty,
    /// A derivation version this node does not know.
    #[error("unknown derivation version {0}")]
    UnknownVersion(u8),
    /// The calldata ends inside a frame.
    #[error("truncated frame")]
    Truncated,
    /// A frame claims more data than a frame may hold.
    #[error("frame data of {0} bytes exceeds the {MAX_FRAME_DATA}-byte limit")]
    TooLarge(usize),
    /// The is_last byte is neither 0 nor 1.
    #[error("invalid is_last byte {0:#x}")]
    InvalidIsLast(u8),
}

impl Frame {
    /// Appends the frame's encoding to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.channel_id);
        out.extend_from_slice(&self.number.to_be_bytes());
        out.extend_from_slice(&(self.data.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.data);
        out.push(u8::from(self.is_last));
    }
}

/// Reads every frame of one batcher transaction's calldata. All or nothing: calldata with
/// any malformed frame is dropped whole (a batcher never writes one).
pub fn parse_frames(calldata: &[u8]) -> Result<Vec<Frame>, FrameError> {
    let (&version, mut rest) = calldata.split_first().ok_or(FrameError::Empty)?;
    if version != DERIVATION_VERSION {
        return Err(FrameError::UnknownVersion(version));
    }
    let mut frames = Vec::new();
    while !rest.is_empty() {
        if rest.len() < FRAME_OVERHEAD {
            return Err(FrameError::Truncated);
        }
        let channel_id: [u8; 16] = rest[..16].try_into().expect("16 bytes");
        let number = u16::from_be_bytes([rest[16], rest[17]]);
        let len = u32::from_be_bytes(rest[18..22].try_into().expect("4 bytes")) as usize;
        if len > MAX_FRAME_DATA {
            return Err(FrameError::TooLarge(len));
        }
        let data_end = 22 + len;
        if rest.len() < data_end + 1 {
            return Err(FrameError::Truncated);
        }
        let is_last = match rest[data_end] {
            0 => false,
            1 => true,
            other => return Err(FrameError::InvalidIsLast(other)),
        };
        frames.push(Frame {
            channel_id,
            number,
            data: rest[22..data_end].to_vec(),
            is_last,
        });
        rest = &rest[data_end + 1..];
    }
    Ok(frames)
}

/// Cuts a compressed channel into frames of at most `max_data` bytes and encodes each as the
/// calldata of one batcher transaction.
pub fn frames_for_channel(
    channel_id: [u8; 16],
    compressed: &[u8],
    max_data: usize,
) -> Vec<Vec<u8>> {
    let max_data = max_data.clamp(1, MAX_FRAME_DATA);
    let chunks: Vec<&[u8]> = if compressed.is_empty() {
        vec![&[][..]]
    } else {
        compressed.chunks(max_data).collect()
    };
    let count = chunks.len();
    chunks
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            let frame = Frame {
                channel_id,
                number: i as u16,
                data: data.to_vec(),
                is_last: i + 1 == count,
            };
            let mut calldata = vec![DERIVATION_VERSION];
            frame.encode(&mut calldata);
            calldata
        })
        .collect()
}
