//! A [`Confirmer`] that asks the user through MCP elicitation. Fails closed:
//! when the client cannot elicit, the user declines or dismisses the form,
//! the answer is malformed, or nobody answers in time, the command is not
//! approved. The pipeline records every answer in the audit log.

use std::sync::Arc;
use std::time::Duration;

use rmcp::model::ProtocolVersion;
use rmcp::service::{ElicitationError, ElicitationMode, Peer, RequestContext};
use rmcp::{RoleServer, elicit_safe};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use crate::exec::{Answer, Confirmation, Confirmer};

/// How long a human has to answer before the command is denied.
pub const ELICIT_TIMEOUT: Duration = Duration::from_secs(300);

/// The form shown to the user: one checkbox.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Confirm {
    /// Tick to allow this exact command to run on this node.
    pub confirm: bool,
}
elicit_safe!(Confirm);

/// What the elicitation can use, captured from the request's context.
struct Asker {
    peer: Peer<RoleServer>,
    /// Protocol 2026-07-28 forbids server-to-client requests.
    modern: bool,
    /// The request's token: a cancelled call stops waiting for the human.
    cancel: CancellationToken,
}

/// A confirmer for one tool call.
pub fn confirmer(ctx: &RequestContext<RoleServer>, cancel: CancellationToken) -> Confirmer {
    let asker = Arc::new(Asker {
        peer: ctx.peer.clone(),
        modern: ctx
            .protocol_version()
            .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28),
        cancel,
    });
    Arc::new(move |c: Confirmation| {
        let asker = asker.clone();
        Box::pin(async move { asker.ask(c).await })
    })
}

/// The text the user reads: the exact command, where, and why it is asked.
pub fn message(c: &Confirmation) -> String {
    format!(
        "cluster-exec needs your confirmation.\n\nCommand: {}\nNode: {}\nWhy: {}\n\nAllow it to run?",
        c.command,
        c.node.as_deref().unwrap_or("chosen by the router"),
        c.reason
    )
}

impl Asker {
    async fn ask(&self, c: Confirmation) -> Answer {
        if self.modern {
            return Answer::Unavailable(
                "this session uses MCP 2026-07-28, where the server cannot ask the user \
                 (confirm out of band, or run it yourself)"
                    .into(),
            );
        }
        if !self
            .peer
            .supported_elicitation_modes()
            .contains(&ElicitationMode::Form)
        {
            return Answer::Unavailable(
                "the MCP client cannot ask the user (it declared no elicitation capability); \
                 ask the user to run it themselves"
                    .into(),
            );
        }
        let asked = self
            .peer
            .elicit_with_timeout::<Confirm>(message(&c), Some(ELICIT_TIMEOUT));
        let answer = tokio::select! {
            a = asked => a,
            () = self.cancel.cancelled() => {
                return Answer::Unavailable("the call was cancelled while waiting for the user".into());
            }
        };
        match answer {
            Ok(Some(Confirm { confirm: true })) => Answer::Approved,
            Ok(Some(Confirm { confirm: false })) | Ok(None) => Answer::Declined,
            Err(ElicitationError::UserDeclined) => Answer::Declined,
            Err(ElicitationError::UserCancelled) => {
                Answer::Unavailable("the user dismissed the confirmation".into())
            }
            Err(ElicitationError::CapabilityNotSupported) => {
                Answer::Unavailable("the MCP client does not support elicitation".into())
            }
            Err(e) => Answer::Unavailable(format!("the confirmation failed ({e})")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn message_names_command_node_and_reason() {
        let m = super::message(&crate::exec::Confirmation {
            command: "reboot".into(),
            node: Some("gpu-1".into()),
            reason: "reboots the host".into(),
        });
        assert!(m.contains("reboot") && m.contains("gpu-1") && m.contains("reboots the host"));
    }
}
