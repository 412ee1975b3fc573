//! The archived form of an event: one line of JSON Lines, the envelope as on the queue minus
//! its free text (a task's title and description), which the analytics never need and which
//! should not be kept forever.

use super::{EnvelopeError, EventEnvelope, TaskCreated, TaskEvent};

impl EventEnvelope {
    /// The same event without its free text.
    pub fn without_free_text(&self) -> Self {
        let mut archived = self.clone();
        if let TaskEvent::Created(created) = &mut archived.event {
            *created = TaskCreated {
                title: None,
                description: None,
                ..created.clone()
            };
        }
        archived
    }

    /// One archive line: the envelope JSON without free text, no line break.
    pub fn to_archive_line(&self) -> String {
        self.without_free_text().to_json()
    }

    /// Parses one archive line (free text absent, or dropped if a writer left it in).
    pub fn from_archive_line(line: &str) -> Result<Self, EnvelopeError> {
        Ok(Self::parse(line)?.without_free_text())
    }
}

#[cfg(test)]
mod tests {
    use crate::event::tests::created_envelope;
    use crate::event::{EventEnvelope, TaskCreated, TaskEvent};
    use crate::values::Description;

    #[test]
    fn an_archive_line_has_no_free_text_and_reads_back_as_the_same_facts() {
        let mut envelope = created_envelope();
        if let TaskEvent::Created(created) = &mut envelope.event {
            created.description = Some(Description::parse("private notes").unwrap());
        }
        let line = envelope.to_archive_line();
        assert!(!line.contains("Write report"), "{line}");
        assert!(!line.contains("private notes"), "{line}");
        assert!(!line.contains('\n'));
        let json: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(json["data"]["priority"], "high");
        let read = EventEnvelope::from_archive_line(&line).unwrap();
        assert_eq!(read, envelope.without_free_text());
        let TaskEvent::Created(TaskCreated {
            title, description, ..
        }) = read.event
        else {
            panic!("a creation event");
        };
        assert_eq!((title, description), (None, None));
    }

    #[test]
    fn the_queue_still_requires_a_title_and_the_archive_does_not() {
        let line = created_envelope().to_archive_line();
        assert_eq!(
            EventEnvelope::from_json(&line).unwrap_err().kind(),
            "invalid_data"
        );
        assert!(EventEnvelope::from_archive_line(&line).is_ok());
        assert_eq!(
            EventEnvelope::from_archive_line("{oops")
                .unwrap_err()
                .kind(),
            "not_json"
        );
    }
}
