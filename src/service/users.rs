//! The Users endpoint's operations.

use std::collections::HashMap;

use chrono::{NaiveDateTime, SecondsFormat};
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tracing::info;

use super::{check_if_match, App, ServiceError};
use crate::mapping::compile::StateChange;
use crate::mapping::convert::{keep_unsent, overlay, shadow_after_patch, Change, RowPlan};
use crate::mapping::model::{AdoptState, OnDelete};
use crate::mapping::UserMapping;
use crate::scim::list::{list_response, ListQuery};
use crate::scim::query::Projection;
use crate::scim::{patch, ScimError};
use crate::store::groups as group_store;
use crate::store::users::{self as store, CreateConflict, HostUser, Planned, SortBy};
use crate::store::StoreError;

/// Longest `externalId` kept (the link table's column).
const MAX_EXTERNAL_ID: usize = 255;

/// A resource as answered, with its version for the `ETag` header.
pub struct Answer {
    pub resource: Value,
    pub version: String,
}

/// The outcome of a create, for logs and the status code.
pub struct CreateOutcome {
    pub answer: Answer,
    pub adopted: bool,
}

/// A user's groups: (group id, displayName).
pub type Groups = Vec<(String, String)>;

fn ts(t: Option<NaiveDateTime>) -> Option<String> {
    t.map(|t| t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// The SCIM view of a stored user, without `id`/`meta`/`groups` (what PATCH operates on).
fn view(m: &UserMapping, u: &HostUser) -> Value {
    let mut r = stored_view(m, u);
    m.serve_fallbacks(&mut r);
    r
}

/// [`view`] without `read_fallback`s: what adoption compares a request with, so that a
/// userName served from the email of a user without a login is still written into the login
/// column when the identity provider takes the user over.
fn stored_view(m: &UserMapping, u: &HostUser) -> Value {
    let mut r = m.to_stored_resource(&u.values, &u.children, u.link.as_ref().map(|l| &l.resource));
    if let (Some(ext), Some(obj)) = (
        u.link.as_ref().and_then(|l| l.external_id.clone()),
        r.as_object_mut(),
    ) {
        obj.insert("externalId".into(), Value::String(ext));
    }
    m.resource_type.canonicalize(r)
}

/// The full answer: `id`, the view, read-only `groups`, and `meta` with a content-derived
/// version, so the ETag moves whenever anything visible changes — also when the application
/// edits the row itself.
pub fn render(m: &UserMapping, u: &HostUser, groups: &[(String, String)], base: &str) -> Answer {
    let body = view(m, u);
    let mut out = Map::new();
    // `canonicalize` always makes an object; anything else would be a bug, logged, not a panic.
    let fields = match body {
        Value::Object(fields) => fields,
        other => {
            tracing::error!(user = %u.key, view = %other, "a user's view is not a JSON object");
            Map::new()
        }
    };
    let mut fields = fields.into_iter();
    if let Some((k, v)) = fields.next() {
        out.insert(k, v); // schemas first
    }
    out.insert("id".into(), Value::String(u.key.clone()));
    out.extend(fields);
    if !groups.is_empty() {
        let list: Vec<Value> = groups
            .iter()
            .map(|(id, name)| json!({"value": id, "$ref": format!("{base}/Groups/{id}"), "display": name, "type": "direct"}))
            .collect();
        out.insert("groups".into(), Value::Array(list));
    }
    // Hashed while serialising: no copy of the resource, no intermediate string.
    let mut hasher = Sha256::new();
    let _ = serde_json::to_writer(&mut hasher, &out);
    let version = format!("W/\"{}\"", &hex::encode(hasher.finalize())[..16]);
    let mut meta = json!({"resourceType": "User"});
    if let Some(l) = &u.link {
        if let Some(c) = ts(l.created_at) {
            meta["created"] = Value::String(c);
        }
        if let Some(c) = ts(l.updated_at) {
            meta["lastModified"] = Value::String(c);
        }
    }
    meta["location"] = Value::String(format!("{base}/Users/{}", u.key));
    meta["version"] = Value::String(version.clone());
    out.insert("meta".into(), meta);
    Answer {
        resource: Value::Object(out),
        version,
    }
}

/// Memberships of the given users, when the answer will show them.
async fn groups_of(
    app: &App,
    keys: &[String],
    wanted: bool,
) -> Result<HashMap<String, Groups>, ServiceError> {
    let mut map: HashMap<String, Groups> = HashMap::new();
    if wanted {
        for (user, gid, name) in group_store::memberships(&app.db, keys).await? {
            map.entry(user).or_default().push((gid, name));
        }
    }
    Ok(map)
}

async fn render_one(app: &App, u: &HostUser, base: &str) -> Result<Answer, ServiceError> {
    if let Some(groups) = &u.groups {
        return Ok(render(&app.users, u, groups, base));
    }
    let groups = groups_of(app, std::slice::from_ref(&u.key), true).await?;
    Ok(render(
        &app.users,
        u,
        groups.get(&u.key).map_or(&[][..], Vec::as_slice),
        base,
    ))
}

/// Checks what every write needs and extracts the link fields; `resource` is what the
/// identity provider sent (kept as the record of it), `effective` what the host rows are
/// planned from.
fn plan(
    m: &UserMapping,
    resource: Value,
    effective: &Value,
    change: Change<'_>,
) -> Result<Planned, ScimError> {
    let user_name = match resource.get("userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => {
            return Err(ScimError::invalid_value(
                "\"userName\" is required and must not be empty",
            ))
        }
    };
    let external_id = match resource.get("externalId") {
        Some(Value::String(s)) if s.len() > MAX_EXTERNAL_ID => {
            return Err(ScimError::invalid_value(format!(
                "\"externalId\" is longer than {MAX_EXTERNAL_ID} bytes"
            )))
        }
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let row = m.to_row(effective, change)?;
    let mut shadow = resource;
    if let Some(o) = shadow.as_object_mut() {
        o.remove("externalId");
    }
    Ok(Planned {
        row,
        user_name,
        external_id,
        resource: shadow,
        state: None,
    })
}

/// The change of `active` from `before` to `after`, refused when the mapping cannot carry
/// out a deactivation: answering 200 while the application's account stays usable would
/// tell the identity provider the user is locked out when nothing happened.
fn state_change(
    m: &UserMapping,
    before: &Value,
    after: &Value,
) -> Result<Option<StateChange>, ScimError> {
    let change = StateChange::between(before, after);
    if change == Some(StateChange::Deactivate) && !m.can_deactivate() {
        return Err(ScimError::mutability(format!(
            "this bridge cannot deactivate users: no column of table \"{}\" holds \"active\" and the mapping declares no [users.on_deactivate] actions, so the account would stay usable; ask the operator to map \"active\" or declare what deactivation does (run `scim-bridge check`)",
            m.table
        )));
    }
    Ok(change)
}

fn conflict_detail(m: &UserMapping, user_name: &str) -> String {
    format!("a user with userName {user_name:?} already exists (or another unique column of table \"{}\" holds the same value)", m.table)
}

/// `POST /Users`.
pub async fn create(app: &App, body: &Value, base: &str) -> Result<CreateOutcome, ServiceError> {
    let m = &app.users;
    let resource = m.resource_type.normalize(body)?;
    let mut planned = plan(m, resource.clone(), &resource, Change::Insert)?;
    let insert_row = std::mem::take(&mut planned.row);
    // Adoption merges: the request's attributes over the row as the application has it.
    let adopt = |current: &HostUser| -> Result<RowPlan, ServiceError> {
        let before = stored_view(m, current);
        // A user deleted over SCIM and created again comes back in the state it is sent.
        let recreated = current.link.as_ref().is_some_and(|l| l.deleted);
        let change = Change::Adopt {
            before: &before,
            state_from_idp: m.adopt_state == AdoptState::Idp || recreated,
            overwrite: m.adopt_overwrite,
        };
        let effective = if m.adopt_overwrite {
            resource.clone()
        } else {
            overlay(&before, &resource)
        };
        Ok(m.to_row(&effective, change)?)
    };
    app.pager.invalidate();
    let outcome = match store::create(&app.db, m, insert_row, adopt, &planned).await {
        Ok(o) => o,
        Err(ServiceError::Store(StoreError::Conflict(why))) => {
            info!(user_name = %planned.user_name, database = %why, "create refused: a unique constraint of the application");
            return Err(ScimError::uniqueness(conflict_detail(m, &planned.user_name)).into());
        }
        Err(e) => return Err(e),
    };
    match outcome {
        Ok(created) => {
            info!(user_name = %planned.user_name, id = %created.user.key, adopted = created.adopted,
                "{}", if created.adopted { "adopted existing user" } else { "created user" });
            Ok(CreateOutcome { answer: render_one(app, &created.user, base).await?, adopted: created.adopted })
        }
        Err(CreateConflict::Taken(key)) => {
            info!(user_name = %planned.user_name, existing_id = %key, "create refused: userName already provisioned");
            Err(ScimError::uniqueness(format!("userName {:?} is already provisioned as user {key}", planned.user_name)).into())
        }
        Err(CreateConflict::Ambiguous(keys)) => {
            info!(user_name = %planned.user_name, candidates = ?keys, "create refused: several existing users match");
            Err(ScimError::uniqueness(format!(
                "userName {:?} matches several existing users of the application (ids {}); merge or rename them, then retry",
                planned.user_name,
                keys.join(", ")
            ))
            .into())
        }
        Err(CreateConflict::Protected(key, who)) => {
            info!(user_name = %planned.user_name, existing_id = %key, protected = %who, "create refused: the row is protected");
            Err(ScimError::uniqueness(format!(
                "userName {:?} matches existing user {key}, which the application protects ({who}, users.protect); SCIM does not take it over",
                planned.user_name
            ))
            .into())
        }
        Err(CreateConflict::ExistsUnadopted(key)) => Err(ScimError::uniqueness(format!(
            "userName {:?} matches existing user {key}, and adoption is switched off (users.adopt = false)",
            planned.user_name
        ))
        .into()),
    }
}

fn not_found(id: &str) -> ServiceError {
    ScimError::not_found(format!("no user with id {id:?}")).into()
}

/// `GET /Users/{id}`.
pub async fn get(
    app: &App,
    id: &str,
    projection: &Projection,
    base: &str,
) -> Result<Answer, ServiceError> {
    let u = store::get(&app.db, &app.users, id, projection.wants("groups"))
        .await?
        .ok_or_else(|| not_found(id))?;
    let a = render(
        &app.users,
        &u,
        u.groups.as_deref().unwrap_or_default(),
        base,
    );
    Ok(Answer {
        resource: projection.apply(&app.users.resource_type, a.resource),
        version: a.version,
    })
}

/// The (table alias, column) a `sortBy` names (or the key for `id`).
fn sort_column<'a>(m: &'a UserMapping, q: &ListQuery) -> Result<Option<SortBy<'a>>, ScimError> {
    let Some(p) = &q.sort_by else { return Ok(None) };
    if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("id") {
        return Ok(Some(SortBy {
            at: 0,
            column: m.key.name.as_str(),
            order: q.sort_order,
            fold: false,
        }));
    }
    let r = m
        .resource_type
        .resolve(p)
        .map_err(|e| ScimError::invalid_value(format!("sortBy: {}", e.detail)))?;
    if let Some(fb) = m.fallbacks.iter().find(|fb| {
        fb.attr.path.attr == r.attr.name
            && fb.attr.path.sub.as_deref() == r.sub.map(|s| s.name)
            && fb.attr.path.urn.as_deref() == r.urn
    }) {
        return Err(ScimError::invalid_value(format!(
            "users cannot be sorted by \"{p}\": it is served from \"{}\" where that column is empty (users.read_fallback), which one sort column cannot order; filter on it instead",
            fb.from.iter().map(|t| t.text.as_str()).collect::<Vec<_>>().join("\", \"")
        )));
    }
    let rule = m
        .rules
        .iter()
        .filter(|r| r.reads() && r.flag.is_none() && r.lookup.is_none() && r.json.is_none())
        .find(|rule| {
            rule.attr().is_some_and(|t| {
                t.path.attr == r.attr.name
                    && t.path.sub.as_deref() == r.sub.map(|s| s.name)
                    && t.path.urn.as_deref() == r.urn
            })
        });
    match rule {
        Some(rule) => {
            let fold = rule.kind == crate::mapping::ColumnKind::Text
                && !rule.attr().is_some_and(|t| t.case_exact);
            Ok(Some(SortBy {
                at: rule.at,
                column: rule.column.as_str(),
                order: q.sort_order,
                fold,
            }))
        }
        None => Err(ScimError::invalid_value(format!(
            "users cannot be sorted by \"{p}\": it is not stored in a column of the application"
        ))),
    }
}

/// `GET /Users` (and `POST /Users/.search`).
pub async fn list(app: &App, q: &ListQuery, base: &str) -> Result<Value, ServiceError> {
    let m = &app.users;
    let pred = q.filter.as_ref().map(|f| m.predicate(f)).transpose()?;
    let sort = sort_column(m, q)?;
    // Sequential paging without sortBy continues by key (see service::pager).
    let filter_key = q
        .filter
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let resume = if sort.is_none() {
        app.pager.resume(&filter_key, q.start_index, q.count)
    } else {
        None
    };
    let (total, users) = store::list(
        &app.db,
        m,
        pred.as_ref(),
        sort,
        store::Page {
            start_index: q.start_index,
            count: q.count,
            resume: resume.as_ref(),
            groups: q.projection.wants("groups"),
        },
    )
    .await?;
    if sort.is_none() {
        app.pager.remember(
            &filter_key,
            q.start_index,
            q.count,
            users.len() as u64,
            users.last().map(|u| u.key.as_str()),
            total,
        );
    }
    let resources = users
        .iter()
        .map(|u| {
            let groups = u.groups.as_deref().unwrap_or_default();
            q.projection
                .apply(&m.resource_type, render(m, u, groups, base).resource)
        })
        .collect();
    Ok(list_response(total, q.start_index, resources))
}

/// What a read-modify-write of one user is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    /// PUT: the body replaces what the identity provider sent before.
    Replace,
    /// PATCH: the operations name what changes.
    Patch,
    /// DELETE with `on_delete = "deactivate"`.
    Deactivate,
}

impl Write {
    fn audit(self) -> &'static str {
        match self {
            Write::Replace => "replace",
            Write::Patch => "patch",
            Write::Deactivate => "deactivate",
        }
    }
    fn log(self) -> &'static str {
        match self {
            Write::Replace => "replaced user",
            Write::Patch => "patched user",
            Write::Deactivate => "deactivated user (DELETE)",
        }
    }
}

/// Runs a read-modify-write on one user; `change` computes the new resource from the current
/// one. Only what differs from the row as stored is written. Uniqueness violations become
/// 409. `if_match` is checked against the version the client would have seen. Returns the
/// user as stored afterwards (a DELETE answers 204, so only PUT and PATCH render it).
async fn modify(
    app: &App,
    id: &str,
    base: &str,
    kind: Write,
    if_match: Option<&str>,
    change: impl FnOnce(Value) -> Result<Value, ScimError>,
) -> Result<HostUser, ServiceError> {
    let m = &app.users;
    let mut user_name = String::new();
    app.pager.invalidate();
    // The version covers group memberships too; read them before the write.
    let current_groups = if if_match.is_some() {
        groups_of(app, &[id.to_string()], true)
            .await?
            .remove(id)
            .unwrap_or_default()
    } else {
        vec![]
    };
    let result = store::modify(
        &app.db,
        m,
        id,
        kind.audit(),
        kind == Write::Deactivate,
        |current: &HostUser| -> Result<Planned, ServiceError> {
            if if_match.is_some() {
                check_if_match(if_match, &render(m, current, &current_groups, base).version)?;
            }
            let before = view(m, current);
            let next = change(before.clone())?;
            let shadow = current.link.as_ref().map(|l| &l.resource);
            let planned = match kind {
                Write::Replace => {
                    // What the identity provider never sent stays the application's.
                    let effective = keep_unsent(&before, &next, shadow);
                    let change = Change::Update {
                        before: &before,
                        strict: false,
                        sent: shadow,
                    };
                    let state = state_change(m, &before, &effective)?;
                    Planned {
                        state,
                        ..plan(m, next, &effective, change)?
                    }
                }
                Write::Patch | Write::Deactivate => {
                    let change = Change::Update {
                        before: &before,
                        strict: kind == Write::Patch,
                        // A DELETE deactivates whatever the provider sent before.
                        sent: if kind == Write::Patch { shadow } else { None },
                    };
                    let mut planned = plan(m, next.clone(), &next, change)?;
                    // The record keeps what the identity provider sent, not the host's view.
                    planned.resource = shadow_after_patch(shadow, &before, &planned.resource);
                    planned.state = state_change(m, &before, &next)?;
                    planned
                }
            };
            user_name = planned.user_name.clone();
            Ok(planned)
        },
    )
    .await;
    let u = match result {
        Ok(u) => u,
        Err(ServiceError::Store(StoreError::Conflict(_))) => {
            return Err(ScimError::uniqueness(conflict_detail(m, &user_name)).into())
        }
        Err(ServiceError::Store(StoreError::NotFound)) => return Err(not_found(id)),
        Err(e) => return Err(e),
    };
    info!(user_name = %user_name, id = %id, "{}", kind.log());
    Ok(u)
}

/// `PUT /Users/{id}`: the body replaces the resource (read-only attributes ignored).
pub async fn replace(
    app: &App,
    id: &str,
    body: &Value,
    base: &str,
    if_match: Option<&str>,
) -> Result<Answer, ServiceError> {
    let next = app.users.resource_type.normalize(body)?;
    let u = modify(app, id, base, Write::Replace, if_match, move |_| Ok(next)).await?;
    render_one(app, &u, base).await
}

/// `PATCH /Users/{id}`.
pub async fn patch(
    app: &App,
    id: &str,
    body: &Value,
    base: &str,
    if_match: Option<&str>,
) -> Result<Answer, ServiceError> {
    let ops = patch::parse_request(body)?;
    let rt = &app.users.resource_type;
    let u = modify(app, id, base, Write::Patch, if_match, |current| {
        patch::apply(rt, &current, &ops)
    })
    .await?;
    render_one(app, &u, base).await
}

/// `DELETE /Users/{id}`, following the mapping's `on_delete`.
pub async fn delete(app: &App, id: &str, if_match: Option<&str>) -> Result<(), ServiceError> {
    let m = &app.users;
    app.pager.invalidate();
    if if_match.is_some() && m.on_delete != OnDelete::Deactivate {
        let current = get(app, id, &Projection::default(), "").await?;
        check_if_match(if_match, &current.version)?;
    }
    match m.on_delete {
        OnDelete::Deactivate => {
            modify(app, id, "", Write::Deactivate, if_match, |mut current| {
                current["active"] = Value::Bool(false);
                Ok(current)
            })
            .await?;
        }
        OnDelete::Delete => {
            if !store::delete_row(&app.db, m, id).await? {
                return Err(not_found(id));
            }
            info!(id = %id, "deleted user row");
        }
        OnDelete::SoftDelete => {
            if !store::soft_delete(&app.db, m, id).await? {
                return Err(not_found(id));
            }
            info!(id = %id, "soft-deleted user (DELETE)");
        }
        OnDelete::Ignore => {
            if !store::forget(&app.db, m, id).await? {
                return Err(not_found(id));
            }
            info!(id = %id, "unlinked user (DELETE, on_delete = ignore)");
        }
    }
    Ok(())
}
