//! The run's lease: one object taken with a conditional write, so that two runs never overlap
//! where no concurrency can be reserved.

use chrono::{DateTime, Utc};
use lake::layout;
use serde::{Deserialize, Serialize};

use crate::{Config, EtlError, LEASE_TTL};

/// The lease object's content.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Lease {
    taken: DateTime<Utc>,
    until: DateTime<Utc>,
}

/// Takes the run's lease, or fails with [`EtlError::LeaseHeld`] while another run holds it.
pub(crate) async fn take_lease(config: &Config) -> Result<(), EtlError> {
    for _ in 0..2 {
        let now = Utc::now();
        let lease = Lease {
            taken: now,
            until: now + LEASE_TTL,
        };
        let bytes = serde_json::to_vec(&lease).unwrap_or_default();
        if config
            .enriched
            .put_if_absent(layout::LEASE_KEY, bytes.into())
            .await?
        {
            return Ok(());
        }
        let held = config.enriched.get_opt(layout::LEASE_KEY).await?;
        let held = held.and_then(|b| serde_json::from_slice::<Lease>(&b).ok());
        match held {
            Some(held) if held.until > now => {
                return Err(EtlError::LeaseHeld {
                    since: held.taken.to_rfc3339(),
                    until: held.until.to_rfc3339(),
                });
            }
            // Expired (its run died) or unreadable: taken over.
            _ => config.enriched.delete(layout::LEASE_KEY).await?,
        }
    }
    Err(EtlError::LeaseHeld {
        since: "just now".to_owned(),
        until: "a few seconds from now".to_owned(),
    })
}
