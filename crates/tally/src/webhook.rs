//! `tally webhook …`: an organization's alert webhooks from the command
//! line, as `/api/organizations/{orgId}/webhooks`. `create` prints the
//! signing secret, once.

use anyhow::{Context, bail};
use clap::Subcommand;
use tally_core::{Email, OrgId, WebhookId};
use tally_server::alerts;

use crate::admin::{arg, open, print};
use crate::config::Overrides;

#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Add a webhook; its signing secret is printed once.
    Create {
        #[arg(long)]
        org: String,
        /// `http://` or `https://`; a Slack incoming webhook works as it is.
        #[arg(long)]
        url: String,
        /// E-mail of the member who adds it.
        #[arg(long)]
        created_by: String,
        #[command(flatten)]
        o: Overrides,
    },
    /// List an organization's webhooks.
    List {
        #[arg(long)]
        org: String,
        #[command(flatten)]
        o: Overrides,
    },
    /// Delete a webhook and its delivery log.
    Delete {
        #[arg(long)]
        org: String,
        #[arg(long)]
        webhook: String,
        #[command(flatten)]
        o: Overrides,
    },
}

pub async fn run(cmd: WebhookCommand) -> anyhow::Result<()> {
    match cmd {
        WebhookCommand::Create {
            org,
            url,
            created_by,
            o,
        } => {
            let org: OrgId = arg("org", org.parse())?;
            let url = arg("url", alerts::webhook_url(&url))?;
            let email = arg("created-by", Email::parse(&created_by))?;
            let (store, hasher) = open(&o).await?;
            store.org(org).await.with_context(|| format!("no organization {org}"))?;
            let creator = store
                .user_by_email(&email)
                .await
                .with_context(|| format!("no user {email}"))?;
            if store.role_of(org, creator.id).await?.is_none() {
                bail!("{email} is not a member of the organization");
            }
            let (webhook, secret) = alerts::create_webhook(store.as_ref(), &hasher, org, url, creator.id).await?;
            print(&[
                ("webhook_id", webhook.id.to_string()),
                ("url", webhook.url),
                ("secret", secret),
            ])
        }
        WebhookCommand::List { org, o } => {
            let org: OrgId = arg("org", org.parse())?;
            let (store, _) = open(&o).await?;
            store.org(org).await.with_context(|| format!("no organization {org}"))?;
            for w in store.webhooks(org).await? {
                print(&[("webhook_id", w.id.to_string()), ("url", w.url)])?;
            }
            Ok(())
        }
        WebhookCommand::Delete { org, webhook, o } => {
            let org: OrgId = arg("org", org.parse())?;
            let id: WebhookId = arg("webhook", webhook.parse())?;
            let (store, _) = open(&o).await?;
            match store.delete_webhook(org, id).await {
                Err(tally_store::StoreError::NotFound) => bail!("no webhook {id} in this organization"),
                other => other?,
            }
            print(&[("deleted_webhook", id.to_string())])
        }
    }
}
