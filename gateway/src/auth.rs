//! Who is calling: HS256 JWTs with `sub` (user UUID), `role` (`user` | `admin`), a
//! required `exp`, `nbf` when present, and `iss` / `aud` when `JWT_ISSUER` /
//! `JWT_AUDIENCE` are set, read from `authorization: Bearer <JWT>` in gRPC metadata or
//! the HTTP header (the REST facade turns headers into metadata, so both faces share
//! this).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use tonic::metadata::MetadataMap;
use uuid::Uuid;

use crate::{error::Error, ids::UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Admin,
}

/// An authenticated caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub user_id: UserId,
    pub role: Role,
}

impl Caller {
    /// Admins act on any order; users only on their own.
    pub fn may_see(&self, owner: UserId) -> bool {
        self.role == Role::Admin || self.user_id == owner
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    role: Role,
    exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    aud: Option<String>,
}

/// Verifies and mints tokens with one secret.
#[derive(Clone)]
pub struct Authenticator {
    decoding: DecodingKey,
    encoding: EncodingKey,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

impl Authenticator {
    pub fn new(secret: &str) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        // A token used before its `nbf` is refused (no `nbf`: valid from issue).
        validation.validate_nbf = true;
        validation.validate_aud = false;
        Self {
            decoding: DecodingKey::from_secret(secret.as_bytes()),
            encoding: EncodingKey::from_secret(secret.as_bytes()),
            validation,
            issuer: None,
            audience: None,
        }
    }

    /// Requires (and mints) `iss` and `aud` when given: tokens of another issuer, or
    /// meant for another audience, are refused even when signed with the same secret.
    pub fn expecting(mut self, issuer: Option<&str>, audience: Option<&str>) -> Self {
        if let Some(issuer) = issuer {
            self.validation.set_issuer(&[issuer]);
            self.validation.set_required_spec_claims(&["exp", "iss"]);
        }
        if let Some(audience) = audience {
            self.validation.set_audience(&[audience]);
            self.validation.validate_aud = true;
            let mut required = vec!["exp", "aud"];
            if issuer.is_some() {
                required.push("iss");
            }
            self.validation.set_required_spec_claims(&required);
        }
        self.issuer = issuer.map(str::to_owned);
        self.audience = audience.map(str::to_owned);
        self
    }

    /// The caller of a request, any role.
    pub fn caller(&self, metadata: &MetadataMap) -> Result<Caller, Error> {
        let header = metadata
            .get("authorization")
            .ok_or_else(|| unauthenticated("missing authorization: Bearer <token>"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .ok_or_else(|| unauthenticated("authorization must be: Bearer <token>"))?;
        let data = jsonwebtoken::decode::<Claims>(token.trim(), &self.decoding, &self.validation)
            .map_err(|err| match err.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => unauthenticated("token expired"),
            jsonwebtoken::errors::ErrorKind::ImmatureSignature => {
                unauthenticated("token not valid yet")
            }
            _ => unauthenticated("invalid token"),
        })?;
        let user_id = Uuid::try_parse(&data.claims.sub)
            .map_err(|_| unauthenticated("token sub must be a user UUID"))?;
        Ok(Caller {
            user_id: UserId(user_id),
            role: data.claims.role,
        })
    }

    /// The caller, who must be an admin.
    pub fn admin(&self, metadata: &MetadataMap) -> Result<Caller, Error> {
        let caller = self.caller(metadata)?;
        if caller.role != Role::Admin {
            return Err(Error::AdminOnly);
        }
        Ok(caller)
    }

    /// A signed token for `user_id` with `role`, valid for `ttl`.
    pub fn mint(
        &self,
        user_id: impl Into<UserId>,
        role: Role,
        ttl: Duration,
    ) -> anyhow::Result<String> {
        let user_id = user_id.into();
        let exp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs() + ttl.as_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            exp,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }
}

fn unauthenticated(message: &'static str) -> Error {
    Error::Unauthenticated(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    fn metadata(token: &str) -> MetadataMap {
        let mut m = MetadataMap::new();
        m.insert("authorization", format!("Bearer {token}").parse().unwrap());
        m
    }

    #[test]
    fn minted_token_authenticates() {
        let auth = Authenticator::new("a-secret-of-sixteen+");
        let user = Uuid::new_v4();
        let token = auth
            .mint(user, Role::User, Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            auth.caller(&metadata(&token)).unwrap(),
            Caller {
                user_id: UserId(user),
                role: Role::User
            }
        );
        assert_eq!(
            auth.admin(&metadata(&token))
                .unwrap_err()
                .into_status()
                .code(),
            Code::PermissionDenied
        );
    }

    #[test]
    fn forged_missing_and_expired_tokens_are_refused() {
        let auth = Authenticator::new("a-secret-of-sixteen+");
        let forger = Authenticator::new("another-secret-16++");
        let forged = forger
            .mint(Uuid::new_v4(), Role::Admin, Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            auth.caller(&metadata(&forged))
                .unwrap_err()
                .into_status()
                .code(),
            Code::Unauthenticated
        );
        assert_eq!(
            auth.caller(&MetadataMap::new())
                .unwrap_err()
                .into_status()
                .code(),
            Code::Unauthenticated
        );

        let expired = Claims {
            sub: Uuid::new_v4().to_string(),
            role: Role::User,
            exp: 1_000,
            iss: None,
            aud: None,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &expired, &auth.encoding).unwrap();
        let err = auth.caller(&metadata(&token)).unwrap_err().into_status();
        assert_eq!(err.code(), Code::Unauthenticated);
        assert_eq!(err.message(), "token expired");
    }

    #[derive(Serialize)]
    struct Raw {
        sub: String,
        role: Role,
        exp: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        nbf: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        iss: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        aud: Option<&'static str>,
    }

    fn raw(
        auth: &Authenticator,
        nbf: Option<u64>,
        iss: Option<&'static str>,
        aud: Option<&'static str>,
    ) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = Raw {
            sub: Uuid::new_v4().to_string(),
            role: Role::User,
            exp: now + 600,
            nbf: nbf.map(|n| now + n),
            iss,
            aud,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap()
    }

    #[test]
    fn a_token_before_its_nbf_is_refused() {
        let auth = Authenticator::new("a-secret-of-sixteen+");
        let err = auth
            .caller(&metadata(&raw(&auth, Some(300), None, None)))
            .unwrap_err()
            .into_status();
        assert_eq!(err.message(), "token not valid yet");
        assert!(
            auth.caller(&metadata(&raw(&auth, Some(0), None, None)))
                .is_ok()
        );
    }

    #[test]
    fn issuer_and_audience_are_checked_when_configured() {
        let auth = Authenticator::new("a-secret-of-sixteen+").expecting(Some("shop"), Some("api"));
        for (iss, aud) in [
            (None, Some("api")),
            (Some("shop"), None),
            (Some("evil"), Some("api")),
            (Some("shop"), Some("web")),
        ] {
            assert_eq!(
                auth.caller(&metadata(&raw(&auth, None, iss, aud)))
                    .unwrap_err()
                    .into_status()
                    .code(),
                Code::Unauthenticated,
                "{iss:?} {aud:?}"
            );
        }
        assert!(
            auth.caller(&metadata(&raw(&auth, None, Some("shop"), Some("api"))))
                .is_ok()
        );
        let minted = auth
            .mint(Uuid::new_v4(), Role::User, Duration::from_secs(60))
            .unwrap();
        assert!(
            auth.caller(&metadata(&minted)).is_ok(),
            "its own tokens pass"
        );
        let plain = Authenticator::new("a-secret-of-sixteen+");
        assert!(
            plain
                .caller(&metadata(&raw(&plain, None, Some("any"), Some("any"))))
                .is_ok()
        );
    }

    #[test]
    fn token_without_exp_is_refused() {
        #[derive(Serialize)]
        struct NoExp {
            sub: String,
            role: Role,
        }
        let auth = Authenticator::new("a-secret-of-sixteen+");
        let claims = NoExp {
            sub: Uuid::new_v4().to_string(),
            role: Role::Admin,
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &auth.encoding).unwrap();
        assert_eq!(
            auth.caller(&metadata(&token))
                .unwrap_err()
                .into_status()
                .code(),
            Code::Unauthenticated
        );
    }
}
