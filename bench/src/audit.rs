//! The invariant audit of DESIGN.md (the end-to-end tests' `audit::Audit`), run so
//! that its own failure is reported as a finding instead of ending the process.

use shop_e2e::{Databases, audit::Audit};

/// Every violation found, after waiting (bounded) for sagas to end. An audit that
/// cannot run is itself a finding.
pub async fn violations(databases: &Databases, redis_url: &str) -> Vec<String> {
    let (databases, redis_url) = (databases.clone(), redis_url.to_owned());
    let audit = tokio::spawn(async move {
        let audit = Audit::connect(&databases, &redis_url).await;
        audit.wait_for_sagas().await;
        audit.violations().await
    });
    match audit.await {
        Ok(found) => found,
        Err(err) => vec![format!("the audit itself failed: {err}")],
    }
}
