use rdkafka::error::{KafkaError, RDKafkaErrorCode};

use super::{is_permanent, produce_error};

#[test]
fn broker_and_network_trouble_is_retried() {
    for code in [
        RDKafkaErrorCode::MessageTimedOut,
        RDKafkaErrorCode::AllBrokersDown,
        RDKafkaErrorCode::BrokerTransportFailure,
        RDKafkaErrorCode::NotLeaderForPartition,
        RDKafkaErrorCode::LeaderNotAvailable,
        RDKafkaErrorCode::RequestTimedOut,
        RDKafkaErrorCode::NotEnoughReplicas,
        RDKafkaErrorCode::NetworkException,
    ] {
        assert!(!is_permanent(code), "{code:?}");
        assert!(produce_error("t", 1, KafkaError::MessageProduction(code)).retriable, "{code:?}");
    }
}

#[test]
fn a_record_over_the_size_limit_stops_with_the_topic_and_the_fix() {
    let e = produce_error(
        "shop.public.orders",
        2_000_000,
        KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
    );
    assert!(!e.retriable);
    let text = e.to_string();
    assert!(text.contains("`shop.public.orders`") && text.contains("2000000 bytes"), "{text}");
    assert!(text.contains("max.message.bytes") && text.contains("message.max.bytes"), "{text}");
}

#[test]
fn authorisation_and_unknown_topics_stop_with_a_fix() {
    let denied = produce_error("t", 1, KafkaError::MessageProduction(RDKafkaErrorCode::TopicAuthorizationFailed));
    assert!(!denied.retriable && denied.to_string().contains("ACL"), "{denied}");
    let unknown = produce_error("t", 1, KafkaError::MessageProduction(RDKafkaErrorCode::UnknownTopic));
    assert!(!unknown.retriable && unknown.to_string().contains("topic.creation.default.partitions"), "{unknown}");
}
