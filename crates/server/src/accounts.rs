//! Account operations shared by the HTTP API and the command line: the parts
//! that involve secrets or password hashing.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use tally_core::{ApiKeyId, Email, Name, Password, ProjectId, TokenId, UserId};
use tally_store::{AccountStore, ApiKey, AuthToken, NewApiKey, NewToken, StoreError, TokenKind, User};

use crate::login::HashPermit;
use crate::secrets::{self, API_KEY_PREFIX, KeyHasher, PERSONAL_TOKEN_PREFIX, SESSION_PREFIX, Secret};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 30);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
}

async fn hash_password(password: &Password) -> Result<String, AccountError> {
    let password = password.clone();
    tokio::task::spawn_blocking(move || secrets::hash_password(password.expose()))
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?
        .map_err(AccountError::Hashing)
}

pub async fn create_user(
    store: &dyn AccountStore,
    email: &Email,
    name: &Name,
    password: &Password,
) -> Result<User, AccountError> {
    let hash = hash_password(password).await?;
    Ok(store.create_user(email, name, &hash).await?)
}

/// The user with these credentials, or `None`. Takes about as long for an
/// unknown e-mail as for a wrong password, so timing does not tell which.
/// The hash runs holding `permit` (released when it ends, even if the
/// caller has gone).
pub async fn check_login(
    store: &dyn AccountStore,
    email: &Email,
    password: &str,
    permit: HashPermit,
) -> Result<Option<User>, AccountError> {
    let user = match store.user_by_email(email).await {
        Ok(user) => Some(user),
        Err(StoreError::NotFound) => None,
        Err(e) => return Err(e.into()),
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let password = password.to_owned();
    let ok = tokio::task::spawn_blocking(move || {
        permit.run(|| match hash {
            Some(hash) => secrets::verify_password(&password, &hash),
            None => {
                // Spend the same work on a hash no password matches.
                static DUMMY: OnceLock<String> = OnceLock::new();
                let dummy = DUMMY.get_or_init(|| secrets::hash_password("no user has this").unwrap_or_default());
                let _ = secrets::verify_password(&password, dummy);
                false
            }
        })
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?;
    Ok(user.filter(|_| ok))
}

/// Creates an API key; the secret is returned here and never again.
pub async fn create_api_key(
    store: &dyn AccountStore,
    hasher: &KeyHasher,
    project: ProjectId,
    name: &Name,
    created_by: UserId,
) -> Result<(ApiKey, Secret), AccountError> {
    let project = store.project(project).await?;
    let secret = secrets::generate(API_KEY_PREFIX);
    let text = secret.expose();
    let last4 = text[text.len() - 4..].to_owned();
    let key = store
        .create_api_key(NewApiKey {
            id: ApiKeyId::new(),
            org_id: project.org_id,
            project_id: project.id,
            name: name.clone(),
            secret_hash: hasher.hash(text),
            last4,
            created_by,
            created_at: Timestamp::now(),
        })
        .await?;
    Ok((key, secret))
}

/// Creates a browser session or a personal access token for `user`.
pub async fn create_token(
    store: &dyn AccountStore,
    hasher: &KeyHasher,
    user: UserId,
    kind: TokenKind,
    name: &str,
) -> Result<(AuthToken, Secret), AccountError> {
    let (prefix, expires_at) = match kind {
        TokenKind::Session => (SESSION_PREFIX, Some(Timestamp::now() + SESSION_LIFETIME)),
        TokenKind::Personal => (PERSONAL_TOKEN_PREFIX, None),
    };
    let secret = secrets::generate(prefix);
    let token = store
        .create_token(NewToken {
            id: TokenId::new(),
            user_id: user,
            kind,
            name: name.to_owned(),
            secret_hash: hasher.hash(secret.expose()),
            created_at: Timestamp::now(),
            expires_at,
        })
        .await?;
    Ok((token, secret))
}
