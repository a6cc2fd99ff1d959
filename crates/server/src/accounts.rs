//! Account operations shared by the HTTP API and the command line: the parts
//! that involve secrets or password hashing.

use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use tally_core::{
    ApiKeyId, Email, InvitationId, Name, OrgId, ParseError, Password, ProjectId, RateLimits, Role, TokenId, UserId,
};
use tally_store::{
    AcceptRefusal, Acceptor, AccountStore, ApiKey, AuthToken, Invitation, InvitationStore, Member, NewApiKey,
    NewInvitation, NewToken, StoreError, TokenKind, User,
};

use crate::login::{HashPermit, LoginGuard};
use crate::secrets::{
    self, API_KEY_PREFIX, INVITATION_PREFIX, KeyHasher, PERSONAL_TOKEN_PREFIX, SESSION_PREFIX, Secret,
};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(24 * 30);

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("password hashing failed: {0}")]
    Hashing(String),
    #[error("no password hashing slot came free in time")]
    Busy,
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
    create_api_key_with(store, hasher, project, name, created_by, KeyTerms::default()).await
}

/// The latest expiry a key may be given, from now.
const MAX_EXPIRY: SignedDuration = SignedDuration::from_hours(24 * 366 * 10);

/// An expiry time: an RFC 3339 instant after `now`, at most ten years on.
pub fn key_expiry(raw: &str, now: Timestamp) -> Result<Timestamp, ParseError> {
    let at: Timestamp = raw
        .parse()
        .map_err(|_| ParseError::new("give an RFC 3339 time with its offset, e.g. 2027-01-31T00:00:00Z"))?;
    if at <= now {
        return Err(ParseError::new("must be in the future"));
    }
    if now.checked_add(MAX_EXPIRY).is_ok_and(|max| at > max) {
        return Err(ParseError::new("must be within ten years"));
    }
    Ok(at)
}

/// What a key may be given when it is created, beside its name.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeyTerms {
    /// The gateway refuses the key from then on.
    pub expires_at: Option<Timestamp>,
    pub limits: RateLimits,
}

/// [`create_api_key`] with an expiry time and rate limits.
pub async fn create_api_key_with(
    store: &dyn AccountStore,
    hasher: &KeyHasher,
    project: ProjectId,
    name: &Name,
    created_by: UserId,
    terms: KeyTerms,
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
            expires_at: terms.expires_at,
            limits: terms.limits,
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

/// Creates an invitation to `org` valid for `lifetime`; the token is
/// returned here and never again. Re-inviting an e-mail replaces its open
/// invitation.
pub async fn create_invitation(
    store: &dyn InvitationStore,
    hasher: &KeyHasher,
    org: OrgId,
    email: &Email,
    role: Role,
    invited_by: UserId,
    lifetime: SignedDuration,
) -> Result<(Invitation, Secret), AccountError> {
    let secret = secrets::generate(INVITATION_PREFIX);
    let now = Timestamp::now();
    let invitation = store
        .create_invitation(NewInvitation {
            id: InvitationId::new(),
            org_id: org,
            email: email.clone(),
            role,
            secret_hash: hasher.hash(secret.expose()),
            invited_by,
            created_at: now,
            expires_at: now + lifetime,
        })
        .await?;
    Ok((invitation, secret))
}

/// Accepts the invitation with `token` by creating the invited e-mail's
/// account with this name and password.
pub async fn accept_with_new_account(
    store: &dyn InvitationStore,
    hasher: &KeyHasher,
    hashes: &LoginGuard,
    token: &str,
    name: &Name,
    password: &Password,
) -> Result<Result<(Invitation, Member), AcceptRefusal>, AccountError> {
    let hash = hasher.hash(token);
    // Hash the password only for a token that can still be used: an unknown
    // or used token costs no argon2 work.
    match store.invitation_by_hash(&hash).await {
        Ok(invitation) => {
            if let Some(refusal) = AcceptRefusal::for_state(invitation.state(Timestamp::now())) {
                return Ok(Err(refusal));
            }
        }
        Err(StoreError::NotFound) => return Ok(Err(AcceptRefusal::Unknown)),
        Err(e) => return Err(e.into()),
    }
    // Holding a hashing slot, as logins do: accepts cannot flood argon2.
    let permit = hashes.hash_permit().await.map_err(|_| AccountError::Busy)?;
    let password = password.clone();
    let password_hash = tokio::task::spawn_blocking(move || permit.run(|| secrets::hash_password(password.expose())))
        .await
        .map_err(|e| AccountError::Hashing(e.to_string()))?
        .map_err(AccountError::Hashing)?;
    let acceptor = Acceptor::NewAccount {
        name: name.clone(),
        password_hash,
    };
    Ok(store.accept_invitation(&hash, acceptor, Timestamp::now()).await?)
}
