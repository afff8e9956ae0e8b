"""The Kafka worker: a Faust-free processor, the Faust adapter around it, publishing, metrics, settings."""
