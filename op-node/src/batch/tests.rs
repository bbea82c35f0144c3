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
    fn batches_survive_compression_framing_and_stray_frames(
        batches in proptest::collection::vec(batch_strategy(), 1..12),
        max_data in 1usize..400,
        strays in proptest::collection::vec((any::<[u8; 16]>(), 1u16..5, any::<bool>()), 0..6),
    ) {
        let compressed = compress_batches(&batches);
        let calldata = frames_for_channel([7u8; 16], &compressed, max_data);
        let mut assembler = ChannelAssembler::new(100);
        let mut completed = Vec::new();
        for (i, data) in calldata.iter().enumerate() {
            // Frames of other channels that are not open, and repeats of frames already
            // taken, are refused without disturbing the open channel.
            if let Some((id, number, is_last)) = strays.get(i) {
                let stray = Frame { channel_id: *id, number: *number, data: vec![1, 2], is_last: *is_last };
                prop_assert!(assembler.add(stray, 1).is_err());
            }
            if i > 0 {
                let repeat = parse_frames(&calldata[i - 1]).unwrap().remove(0);
                prop_assert!(assembler.add(repeat, 1).is_err());
            }
            for frame in parse_frames(data).unwrap() {
                if let Some(channel) = assembler.add(frame, 1).unwrap() {
                    completed.push(channel);
                }
            }
        }
        prop_assert_eq!(completed.len(), 1, "the channel completes exactly once");
        let (decoded, error) = decompress_batches(&completed[0]);
        prop_assert!(error.is_none());
        prop_assert_eq!(decoded, batches);
        prop_assert_eq!(assembler.open_since(), None);
    }

    #[test]
    fn garbage_calldata_is_refused_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(frames) = parse_frames(&data) {
            let mut assembler = ChannelAssembler::new(10);
            for frame in frames {
                if let Ok(Some(channel)) = assembler.add(frame, 0) {
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
    assert_eq!(assembler.add(frames[0].clone(), 10), Ok(None));
    assert_eq!(assembler.open_since(), Some(10));
    // The rest arrive too late: the channel was dropped, so it never completes.
    for frame in frames.into_iter().skip(1) {
        assert!(assembler.add(frame, 16).is_err());
    }
    assert_eq!(assembler.open_since(), None);
}

#[test]
fn frames_must_come_in_order_and_a_new_channel_replaces_the_open_one() {
    let mut assembler = ChannelAssembler::new(100);
    let frame = |id: u8, number, data: &[u8], is_last| Frame {
        channel_id: [id; 16],
        number,
        data: data.to_vec(),
        is_last,
    };
    assert_eq!(
        assembler.add(frame(3, 1, b"b", true), 0),
        Err(FrameRejection::NotOpen { number: 1 })
    );
    assert_eq!(assembler.add(frame(3, 0, b"a", false), 0), Ok(None));
    assert_eq!(
        assembler.add(frame(3, 2, b"c", true), 0),
        Err(FrameRejection::OutOfOrder {
            number: 2,
            expected: 1
        })
    );
    // Frame 0 of another channel drops channel 3.
    assert_eq!(assembler.add(frame(4, 0, b"x", false), 1), Ok(None));
    assert_eq!(
        assembler.add(frame(3, 1, b"b", true), 1),
        Err(FrameRejection::NotOpen { number: 1 })
    );
    assert_eq!(
        assembler.add(frame(4, 1, b"y", true), 2),
        Ok(Some(b"xy".to_vec()))
    );
    assert_eq!(assembler.open_since(), None);
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
            channel = channel.or(assembler.add(frame, 0).unwrap());
        }
    }
    let (decoded, error) =
        decompress_batches(&channel.expect("the vector's frames complete the channel"));
    assert!(error.is_none());
    assert_eq!(decoded, batches);
}
