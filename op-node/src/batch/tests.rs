use super::*;
use alloy::primitives::{B256, Bytes, hex};
use proptest::prelude::*;

fn batch_strategy() -> impl Strategy<Value = Batch> {
    (
        any::<[u8; 32]>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        any::<u64>(),
        proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..8),
    )
        .prop_map(|(parent, epoch, epoch_hash, ts, txs)| Batch {
            parent_hash: B256::from(parent),
            epoch_number: epoch,
            epoch_hash: B256::from(epoch_hash),
            timestamp: ts,
            transactions: txs.into_iter().map(Bytes::from).collect(),
        })
}

proptest! {
    #[test]
    fn batches_survive_compression_framing_reordering_and_duplicates(
        batches in proptest::collection::vec(batch_strategy(), 1..12),
        max_data in 1usize..400,
        seed: u64,
    ) {
        let compressed = compress_batches(&batches);
        let calldata = frames_for_channel([7u8; 16], &compressed, max_data);
        // Deliver every frame twice, in a scrambled order.
        let mut deliveries: Vec<&Vec<u8>> = calldata.iter().chain(calldata.iter()).collect();
        let len = deliveries.len();
        for i in 0..len {
            let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % len as u64) as usize;
            deliveries.swap(i, j);
        }
        let mut assembler = ChannelAssembler::new(100);
        let mut completed = Vec::new();
        for data in deliveries {
            for frame in parse_frames(data).unwrap() {
                if let Some(channel) = assembler.add(frame, 1) {
                    completed.push(channel);
                }
            }
        }
        prop_assert_eq!(completed.len(), 1, "the channel completes exactly once");
        let (decoded, error) = decompress_batches(&completed[0]);
        prop_assert!(error.is_none());
        prop_assert_eq!(decoded, batches);
        prop_assert_eq!(assembler.pending(), 0);
    }

    #[test]
    fn garbage_calldata_is_refused_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(frames) = parse_frames(&data) {
            let mut assembler = ChannelAssembler::new(10);
            for frame in frames {
                if let Some(channel) = assembler.add(frame, 0) {
                    let _ = decompress_batches(&channel);
                }
            }
        }
    }

    #[test]
    fn garbage_channels_decode_to_an_error_never_a_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = decompress_batches(&data);
    }
}

#[test]
fn malformed_frames_are_typed_errors() {
    assert_eq!(parse_frames(&[]), Err(FrameError::Empty));
    assert_eq!(parse_frames(&[1]), Err(FrameError::UnknownVersion(1)));
    let mut calldata = frames_for_channel([1u8; 16], b"hello", 100).remove(0);
    assert_eq!(parse_frames(&calldata).unwrap().len(), 1);
    let last = calldata.len() - 1;
    calldata[last] = 2;
    assert_eq!(parse_frames(&calldata), Err(FrameError::InvalidIsLast(2)));
    calldata.truncate(last - 1);
    assert_eq!(parse_frames(&calldata), Err(FrameError::Truncated));
    let mut huge = vec![DERIVATION_VERSION];
    huge.extend_from_slice(&[0u8; 18]);
    huge.extend_from_slice(&((MAX_FRAME_DATA as u32) + 1).to_be_bytes());
    huge.push(0);
    assert_eq!(
        parse_frames(&huge),
        Err(FrameError::TooLarge(MAX_FRAME_DATA + 1))
    );
}

#[test]
fn a_channel_left_open_times_out() {
    let calldata = frames_for_channel([9u8; 16], &compress_batches(&[]), 1);
    assert!(calldata.len() > 1);
    let frames: Vec<Frame> = calldata
        .iter()
        .flat_map(|c| parse_frames(c).unwrap())
        .collect();
    let mut assembler = ChannelAssembler::new(5);
    assert!(assembler.add(frames[0].clone(), 10).is_none());
    // The rest arrive too late: the channel was dropped, so it never completes.
    let mut completed = false;
    for frame in frames.into_iter().skip(1) {
        completed |= assembler.add(frame, 16).is_some();
    }
    assert!(!completed);
}

#[test]
fn a_second_last_frame_or_a_frame_past_the_end_is_ignored() {
    let mut assembler = ChannelAssembler::new(100);
    let id = [3u8; 16];
    let frame = |number, data: &[u8], is_last| Frame {
        channel_id: id,
        number,
        data: data.to_vec(),
        is_last,
    };
    assert!(assembler.add(frame(1, b"b", true), 0).is_none());
    assert!(assembler.add(frame(2, b"x", false), 0).is_none());
    assert!(
        assembler.add(frame(0, b"a", true), 0).is_none(),
        "a second last frame is ignored"
    );
    assert_eq!(
        assembler.add(frame(0, b"a", false), 0),
        Some(b"ab".to_vec())
    );
}

#[test]
fn a_compression_bomb_is_bounded() {
    let raw = vec![0u8; MAX_CHANNEL_BYTES + 1];
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    std::io::Write::write_all(&mut encoder, &raw).unwrap();
    let bomb = encoder.finish().unwrap();
    assert!(bomb.len() < 20_000);
    let (batches, error) = decompress_batches(&bomb);
    assert!(batches.is_empty());
    assert!(error.is_some());
}

/// The committed test vectors (`testdata/batches/v0.json`) decode to the batches they name.
/// Regenerate with `UPDATE_BATCH_VECTORS=1 cargo test -p op-node batch::tests::vectors`.
#[test]
fn vectors() {
    let batches = vec![
        Batch {
            parent_hash: B256::repeat_byte(0x11),
            epoch_number: 7,
            epoch_hash: B256::repeat_byte(0x22),
            timestamp: 1_700_000_000,
            transactions: vec![
                Bytes::from_static(&[0x02, 0xaa, 0xbb]),
                Bytes::from_static(&[0xc0]),
            ],
        },
        Batch {
            parent_hash: B256::repeat_byte(0x33),
            epoch_number: 7,
            epoch_hash: B256::repeat_byte(0x22),
            timestamp: 1_700_000_001,
            transactions: vec![],
        },
    ];
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/batches/v0.json");
    let mut raw = Vec::new();
    for b in &batches {
        b.encode(&mut raw);
    }
    if std::env::var("UPDATE_BATCH_VECTORS").is_ok() {
        let calldata: Vec<String> = frames_for_channel([0xab; 16], &compress_batches(&batches), 40)
            .iter()
            .map(|c| format!("0x{}", hex::encode(c)))
            .collect();
        let json = serde_json::json!({
            "description": "Two version-0 batches: their RLP (type byte 0 before each) and the calldata of the batcher transactions that carry them (channel 0xabab..., 40-byte frames).",
            "batches_rlp": format!("0x{}", hex::encode(&raw)),
            "calldata": calldata,
        });
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    }
    let vector: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        vector["batches_rlp"].as_str().unwrap(),
        format!("0x{}", hex::encode(&raw))
    );
    let mut assembler = ChannelAssembler::new(10);
    let mut channel = None;
    for data in vector["calldata"].as_array().unwrap() {
        let bytes = hex::decode(data.as_str().unwrap()).unwrap();
        for frame in parse_frames(&bytes).unwrap() {
            channel = channel.or(assembler.add(frame, 0));
        }
    }
    let (decoded, error) =
        decompress_batches(&channel.expect("the vector's frames complete the channel"));
    assert!(error.is_none());
    assert_eq!(decoded, batches);
}
