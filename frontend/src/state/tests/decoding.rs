//! Frames from the server decoded by their `type`, as the protocol types read them, and newer ones survived.

use super::*;

#[test]
fn decode_understands_known_frames_and_survives_newer_ones() {
    let frame = Incoming::decode(
        r#"{"type":"presence","room":"lobby","joined":[{"user_id":3,"username":"cy","display_name":"Cy"}],"left":[2]}"#,
    );
    assert_eq!(
        frame,
        Incoming::Frame(ServerFrame::Presence {
            room: room("lobby"),
            joined: vec![person("Cy")],
            left: vec![2],
            updated: vec![],
        })
    );
    let known = Incoming::decode(
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n1"}"#,
    );
    assert_eq!(
        known,
        Incoming::Error {
            code: Some(ErrorCode::TooLong),
            message: "too long".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n1")),
        }
    );
    let newer = Incoming::decode(
        r#"{"type":"error","code":"brand_new","message":"slow down","room":"lobby","nonce":"n2"}"#,
    );
    assert_eq!(
        newer,
        Incoming::Error {
            code: None,
            message: "slow down".into(),
            room: Some(room("lobby")),
            nonce: Some(nonce("n2")),
        }
    );
    assert_eq!(
        Incoming::decode(r#"{"type":"reaction","room":"lobby"}"#),
        Incoming::Unknown
    );
    assert_eq!(Incoming::decode("not json"), Incoming::Unknown);
}

#[test]
fn decoding_by_type_reads_every_frame_as_the_protocol_types_do() {
    let ann = r#"{"user_id":1,"username":"ann","display_name":"Ann"}"#;
    let bob = r#"{"user_id":2,"username":"bob","display_name":"Bob"}"#;
    let frames = [
        format!(
            r#"{{"type":"joined","room":"lobby","you":{ann},"members":[{bob},{ann}],"history":[{{"room":"lobby","id":7,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-0"}},{{"room":"lobby","id":8,"name":"Old","text":"before accounts","ts":1}}],"has_older":true}}"#
        ),
        format!(
            r#"{{"type":"joined","room":"lobby","you":{ann},"members":[{ann}],"history":[],"has_older":false}}"#
        ),
        r#"{"type":"message","room":"lobby","id":8,"name":"Ann","user_id":1,"username":"ann","text":"hi <b>all</b>","ts":1700000000000,"nonce":"n-1"}"#.to_owned(),
        r#"{"type":"message","room":"lobby","id":9,"name":"Bob","text":"x","ts":1}"#.to_owned(),
        format!(r#"{{"type":"presence","room":"lobby","joined":[{bob}],"left":[3],"updated":[{ann}]}}"#),
        r#"{"type":"presence","room":"lobby","left":[2]}"#.to_owned(),
        format!(r#"{{"type":"presence","room":"lobby","joined":[{bob}]}}"#),
        format!(r#"{{"type":"presence","room":"lobby","updated":[{bob}]}}"#),
        r#"{"type":"typing","room":"lobby","user_id":1,"name":"Ann"}"#.to_owned(),
        r#"{"type":"error","code":"protocol_version","message":"join has no name"}"#.to_owned(),
        r#"{"type":"error","code":"too_long","message":"too long","room":"lobby","nonce":"n-2"}"#.to_owned(),
        r#"{"name":"Ann","type":"typing","user_id":1,"room":"lobby","extra":1}"#.to_owned(),
        r#"{"type":"read","room":"team","last_read":42}"#.to_owned(),
        r#"{"type":"membership","room":"team","state":"member","role":"moderator"}"#.to_owned(),
        r#"{"type":"membership","room":"team","state":"banned"}"#.to_owned(),
        r#"{"type":"membership","room":"team","state":"left"}"#.to_owned(),
        r#"{"type":"muted","room":"team","until":1700000600000}"#.to_owned(),
        r#"{"type":"muted","room":"team"}"#.to_owned(),
        r#"{"type":"room_changed","room":"team","kind":"private","title":"The team","topic":"say hi","archived":false}"#.to_owned(),
        r#"{"type":"room_changed","room":"team","kind":"public","topic":"","archived":true}"#.to_owned(),
    ];
    let frames: Vec<&str> = frames.iter().map(String::as_str).collect();
    for text in frames {
        let expected = match ServerFrame::decode(text).expect("a valid frame") {
            ServerFrame::Error(error) => Incoming::Error {
                code: Some(error.code),
                message: error.message,
                room: error.room,
                nonce: error.nonce,
            },
            frame => Incoming::Frame(frame),
        };
        assert_eq!(Incoming::decode(text), expected, "{text}");
    }
    for broken in [
        r#"{"type":"message","room":"lobby"}"#,
        r#"{"type":"typing","room":"Lobby","name":"Ann"}"#,
        // Version 1's typing and presence, by name only.
        r#"{"type":"typing","room":"lobby","name":"Ann"}"#,
        r#"{"type":"presence","room":"lobby","left":["Bob"]}"#,
        r#"{"room":"lobby"}"#,
        r#"[]"#,
        r#"{"type":"membership","room":"team","state":"gone"}"#,
        r#"{"type":"read","room":"team"}"#,
    ] {
        assert_eq!(Incoming::decode(broken), Incoming::Unknown, "{broken}");
    }
}
