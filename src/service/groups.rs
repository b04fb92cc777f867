//! The Groups endpoint's operations (Okta Push Groups, Entra group provisioning).
//!
//! Membership changes never load the member list: PATCH operations on `members` become set
//! operations for the store; all other operations go through the PATCH engine on the group
//! without its members.

use crate::mapping::compile::GroupMapping;
use crate::mapping::convert::row_for;
use crate::mapping::WriteMode;
use chrono::SecondsFormat;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tracing::info;

use super::users::Answer;
use super::{App, ServiceError};
use crate::mapping::{ColumnKind, HostValue, Pred, Target};
use crate::scim::filter::{CompValue, CompareOp, Filter};
use crate::scim::list::{list_response, ListQuery};
use crate::scim::patch::{self, OpKind, PatchOp};
use crate::scim::query::Projection;
use crate::scim::schema::GROUP_SCHEMA;
use crate::scim::ScimError;
use crate::store::groups::{
    self as store, GroupField, GroupPlanned, GroupRefusal, GroupRow, MemberChange,
};
use crate::store::StoreError;

const MAX_NAME: usize = 255;

/// Renders a stored group. The version covers everything visible, membership included (any
/// membership change moves `updated_at`).
pub fn render(g: &GroupRow, base: &str) -> Answer {
    let stamp = g
        .updated_at
        .map(|t| t.and_utc().timestamp_micros())
        .unwrap_or_default();
    let digest = Sha256::digest(
        format!(
            "{}|{}|{:?}|{}|{stamp}",
            g.id, g.display_name, g.external_id, g.resource
        )
        .as_bytes(),
    );
    let version = format!("W/\"{}\"", &hex::encode(digest)[..16]);
    let mut out = Map::new();
    out.insert("schemas".into(), json!([GROUP_SCHEMA]));
    out.insert("id".into(), Value::String(g.id.clone()));
    if let Some(e) = &g.external_id {
        out.insert("externalId".into(), Value::String(e.clone()));
    }
    out.insert("displayName".into(), Value::String(g.display_name.clone()));
    if let Some(members) = &g.members {
        out.insert(
            "members".into(),
            Value::Array(members.iter().map(|m| member_json(m, base)).collect()),
        );
    }
    if let Value::Object(extra) = &g.resource {
        for (k, v) in extra {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    let ts = |t: Option<chrono::NaiveDateTime>| {
        t.map(|t| Value::String(t.and_utc().to_rfc3339_opts(SecondsFormat::Secs, true)))
    };
    let mut meta = json!({"resourceType": "Group"});
    if let Some(c) = ts(g.created_at) {
        meta["created"] = c;
    }
    if let Some(c) = ts(g.updated_at) {
        meta["lastModified"] = c;
    }
    meta["location"] = Value::String(format!("{base}/Groups/{}", g.id));
    meta["version"] = Value::String(version.clone());
    out.insert("meta".into(), meta);
    Answer {
        resource: Value::Object(out),
        version,
    }
}

/// One member as a group answer shows it.
pub fn member_json(m: &crate::store::groups::Member, base: &str) -> Value {
    let mut o = json!({"value": m.key, "$ref": format!("{base}/Users/{}", m.key), "type": "User"});
    if let Some(d) = &m.display {
        o["display"] = Value::String(d.clone());
    }
    o
}

/// Members per page when a group's members are streamed.
const STREAM_PAGE: usize = 1000;

/// Streams a group with all its members into `tx`: the group without members, then the
/// members page by page. Memory stays flat for any group size; pages are separate reads, so a
/// membership change during the stream shows up in the pages not yet sent.
pub async fn stream_members(
    app: &App,
    id: &str,
    head: &Value,
    base: &str,
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, std::io::Error>>,
) {
    let head = head.to_string();
    let prefix = format!("{},\"members\":[", &head[..head.len().saturating_sub(1)]);
    if tx.send(Ok(prefix.into())).await.is_err() {
        return;
    }
    let mut after: Option<String> = None;
    let mut first = true;
    loop {
        let page = match store::members_after(
            &app.db,
            &app.users,
            id,
            after.as_deref(),
            STREAM_PAGE,
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(cause = %e, group = %id, "member stream aborted");
                let _ = tx.send(Err(std::io::Error::other(e.to_string()))).await;
                return;
            }
        };
        let mut chunk = String::new();
        for m in &page {
            if !first {
                chunk.push(',');
            }
            first = false;
            chunk.push_str(&member_json(m, base).to_string());
        }
        if tx.send(Ok(chunk.into())).await.is_err() {
            return; // the client went away
        }
        if page.len() < STREAM_PAGE {
            break;
        }
        after = page.last().map(|m| m.key.clone());
    }
    let _ = tx.send(Ok("]}".into())).await;
}

/// Member ids from a `members` value: `[{"value": "id"}, …]` (a single object is accepted).
fn member_keys(v: &Value) -> Result<Vec<String>, ScimError> {
    let items: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        Value::Null => vec![],
        other => vec![other],
    };
    items
        .into_iter()
        .map(|it| {
            let o = it.as_object().ok_or_else(|| {
                ScimError::invalid_value(
                    "each member must be an object such as {\"value\": \"<user id>\"}",
                )
            })?;
            let get = |name: &str| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v)
            };
            if let Some(t) = get("type").and_then(Value::as_str) {
                if !t.eq_ignore_ascii_case("User") {
                    return Err(ScimError::invalid_value(format!(
                        "members of type {t:?} are not supported: only users can be members"
                    )));
                }
            }
            match get("value") {
                Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
                Some(Value::Number(n)) => Ok(n.to_string()),
                _ => Err(ScimError::invalid_value(
                    "each member needs a \"value\" holding a user id",
                )),
            }
        })
        .collect()
}

/// Member ids named by a `members[value eq "…" or value eq "…"]` filter.
fn filter_keys(f: &Filter) -> Option<Vec<String>> {
    match f {
        Filter::Compare(p, CompareOp::Eq, CompValue::Str(v))
            if p.attr.eq_ignore_ascii_case("value") && p.sub.is_none() =>
        {
            Some(vec![v.clone()])
        }
        Filter::Compare(p, CompareOp::Eq, CompValue::Num(n))
            if p.attr.eq_ignore_ascii_case("value") =>
        {
            Some(vec![n.to_string()])
        }
        Filter::Or(a, b) => {
            let mut k = filter_keys(a)?;
            k.extend(filter_keys(b)?);
            Some(k)
        }
        _ => None,
    }
}

/// Splits PATCH operations into attribute operations (for the PATCH engine) and membership
/// changes (for the store), in request order.
pub fn split_ops(ops: Vec<PatchOp>) -> Result<(Vec<PatchOp>, Vec<MemberChange>), ScimError> {
    let mut attr_ops = Vec::new();
    let mut changes = Vec::new();
    for op in ops {
        match &op.path {
            Some(p) if p.attr.urn.is_none() && p.attr.attr.eq_ignore_ascii_case("members") => {
                if p.attr.sub.is_some() {
                    return Err(ScimError::invalid_path("members are changed as a whole: use path \"members\" or \"members[value eq \\\"id\\\"]\""));
                }
                match (&p.filter, op.op) {
                    (None, OpKind::Add) => changes.push(MemberChange::Add(member_keys(
                        op.value.as_ref().unwrap_or(&Value::Null),
                    )?)),
                    (None, OpKind::Replace) => changes.push(MemberChange::ReplaceAll(member_keys(
                        op.value.as_ref().unwrap_or(&Value::Null),
                    )?)),
                    // Entra and JumpCloud: {"op":"Remove","path":"members","value":[{"value":"id"}]}.
                    (None, OpKind::Remove) => match &op.value {
                        Some(v) if !v.is_null() => {
                            changes.push(MemberChange::Remove(member_keys(v)?));
                        }
                        _ => changes.push(MemberChange::RemoveAll),
                    },
                    (Some(f), OpKind::Remove) => {
                        let keys = filter_keys(f).ok_or_else(|| {
                            ScimError::invalid_path(format!("members can be selected by id only, e.g. members[value eq \"2819c223\"]; not by {f}"))
                        })?;
                        changes.push(MemberChange::Remove(keys));
                    }
                    (Some(_), _) => {
                        return Err(ScimError::invalid_path(
                            "a member cannot be changed in place: remove it, or add another member",
                        ));
                    }
                }
            }
            None if op.op != OpKind::Remove => {
                let Some(Value::Object(fields)) = &op.value else {
                    attr_ops.push(op);
                    continue;
                };
                let mut rest = fields.clone();
                let members = fields
                    .keys()
                    .find(|k| k.eq_ignore_ascii_case("members"))
                    .cloned();
                if let Some(k) = members {
                    let v = rest.remove(&k).unwrap_or(Value::Null);
                    let keys = member_keys(&v)?;
                    changes.push(if op.op == OpKind::Add {
                        MemberChange::Add(keys)
                    } else {
                        MemberChange::ReplaceAll(keys)
                    });
                }
                if !rest.is_empty() {
                    attr_ops.push(PatchOp {
                        op: op.op,
                        path: None,
                        value: Some(Value::Object(rest)),
                    });
                }
            }
            _ => attr_ops.push(op),
        }
    }
    Ok((attr_ops, changes))
}

/// The group as the PATCH engine sees it: everything but members.
fn view(g: &GroupRow) -> Value {
    let mut v = json!({"schemas": [GROUP_SCHEMA], "displayName": g.display_name});
    if let Some(e) = &g.external_id {
        v["externalId"] = Value::String(e.clone());
    }
    if let (Value::Object(extra), Some(o)) = (&g.resource, v.as_object_mut()) {
        for (k, val) in extra {
            o.entry(k.clone()).or_insert_with(|| val.clone());
        }
    }
    v
}

/// Display name, externalId and the rest of a normalised group.
fn plan(
    host: Option<&GroupMapping>,
    resource: Value,
    changes: Vec<MemberChange>,
) -> Result<GroupPlanned, ScimError> {
    // The host group row: everything on insert, the mapped attributes on update.
    let host_rows = host
        .map(|g| {
            Ok::<_, ScimError>((
                row_for(&g.rules, &resource, WriteMode::Insert)?,
                row_for(&g.rules, &resource, WriteMode::Update)?,
            ))
        })
        .transpose()?;
    let Value::Object(mut o) = resource else {
        return Err(ScimError::invalid_syntax("a group must be a JSON object"));
    };
    let display_name = match o.remove("displayName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s,
        _ => {
            return Err(ScimError::invalid_value(
                "\"displayName\" is required and must not be empty",
            ))
        }
    };
    if display_name.chars().count() > MAX_NAME {
        return Err(ScimError::invalid_value(format!(
            "\"displayName\" is longer than {MAX_NAME} characters"
        )));
    }
    let external_id = match o.remove("externalId") {
        Some(Value::String(s)) if s.len() > 255 => {
            return Err(ScimError::invalid_value(
                "\"externalId\" is longer than 255 bytes",
            ))
        }
        Some(Value::String(s)) => Some(s),
        _ => None,
    };
    o.remove("schemas");
    o.remove("members");
    Ok(GroupPlanned {
        display_name,
        external_id,
        resource: Value::Object(o),
        changes,
        host_rows,
    })
}

fn refused(r: GroupRefusal, name: &str) -> ServiceError {
    match r {
        GroupRefusal::NameTaken(id) => {
            ScimError::uniqueness(format!("a group named {name:?} already exists (id {id})")).into()
        }
        GroupRefusal::UnknownMembers(keys) => {
            let shown: Vec<&str> = keys.iter().take(10).map(String::as_str).collect();
            ScimError::invalid_value(format!(
                "no user with id {}{}; push the users before the group",
                shown.join(", "),
                if keys.len() > 10 {
                    format!(" (and {} more)", keys.len() - 10)
                } else {
                    String::new()
                }
            ))
            .into()
        }
    }
}

fn not_found(id: &str) -> ServiceError {
    ScimError::not_found(format!("no group with id {id:?}")).into()
}

/// `POST /Groups`.
pub async fn create(app: &App, body: &Value, base: &str) -> Result<Answer, ServiceError> {
    let normalized = app.groups.normalize(body)?;
    let keys = normalized
        .get("members")
        .map(member_keys)
        .transpose()?
        .unwrap_or_default();
    let planned = plan(
        app.users.host_groups.as_ref(),
        normalized,
        vec![MemberChange::Add(keys)],
    )?;
    let id = crate::store::new_uuid();
    match store::create(&app.db, &app.users, &id, &planned).await? {
        Ok(g) => {
            info!(group = %planned.display_name, id = %id, members = g.members.as_ref().map_or(0, Vec::len), "created group");
            Ok(render(&g, base))
        }
        Err(r) => Err(refused(r, &planned.display_name)),
    }
}

/// `GET /Groups/{id}`.
pub async fn get(
    app: &App,
    id: &str,
    projection: &Projection,
    base: &str,
) -> Result<Answer, ServiceError> {
    let g = store::get(&app.db, &app.users, id, projection.wants("members"))
        .await?
        .ok_or_else(|| not_found(id))?;
    Ok(render(&g, base))
}

/// The filter on groups as a predicate over `scim_groups`.
pub fn predicate(f: &Filter) -> Result<Pred, ScimError> {
    let column = |p: &crate::scim::path::AttrPath| -> Result<(Target, bool), ScimError> {
        let name = p.attr.to_ascii_lowercase();
        match (p.urn.is_some(), name.as_str(), p.sub.as_deref()) {
            (false, "displayname", None) => Ok((GroupField::DisplayName.target(), true)),
            (false, "externalid", None) => Ok((GroupField::ExternalId.target(), false)),
            (false, "id", None) => Ok((GroupField::Id.target(), false)),
            (false, "members", Some(s)) if s.eq_ignore_ascii_case("value") => Ok((Target::Member, false)),
            _ => Err(ScimError::invalid_filter(format!(
                "filtering groups on \"{p}\" is not supported; use displayName, externalId, id or members.value"
            ))),
        }
    };
    Ok(match f {
        Filter::And(a, b) => Pred::And(vec![predicate(a)?, predicate(b)?]),
        Filter::Or(a, b) => Pred::Or(vec![predicate(a)?, predicate(b)?]),
        Filter::Not(a) => Pred::Not(Box::new(predicate(a)?)),
        Filter::Present(p) => Pred::Present(column(p)?.0),
        Filter::ValuePath(p, inner)
            if p.attr.eq_ignore_ascii_case("members") && p.urn.is_none() =>
        {
            let keys = filter_keys(inner).ok_or_else(|| {
                ScimError::invalid_filter("members can be filtered by value (user id) only")
            })?;
            let preds: Vec<Pred> = keys
                .into_iter()
                .map(|k| Pred::Cmp {
                    target: Target::Member,
                    op: CompareOp::Eq,
                    value: HostValue::Text(k),
                    fold_case: false,
                })
                .collect();
            Pred::Or(preds)
        }
        Filter::ValuePath(p, _) => {
            return Err(ScimError::invalid_filter(format!(
                "\"{p}\" is not a multi-valued attribute of groups"
            )))
        }
        Filter::Compare(p, op, v) => {
            let (target, fold) = column(p)?;
            if target == Target::Member && *op != CompareOp::Eq {
                return Err(ScimError::invalid_filter("members.value supports eq only"));
            }
            let value = match v {
                CompValue::Str(s) => HostValue::Text(s.clone()),
                CompValue::Num(n) => HostValue::Text(n.to_string()),
                CompValue::Null => {
                    return Ok(match op {
                        CompareOp::Eq => Pred::Not(Box::new(Pred::Present(target))),
                        CompareOp::Ne => Pred::Present(target),
                        _ => {
                            return Err(ScimError::invalid_filter(
                                "null can only be compared with eq or ne",
                            ))
                        }
                    })
                }
                CompValue::Bool(_) => {
                    return Err(ScimError::invalid_filter(format!("\"{p}\" is a string")))
                }
            };
            let _ = ColumnKind::Text;
            Pred::Cmp {
                target,
                op: *op,
                value,
                fold_case: fold,
            }
        }
    })
}

/// `GET /Groups` (and `POST /Groups/.search`).
pub async fn list(app: &App, q: &ListQuery, base: &str) -> Result<Value, ServiceError> {
    let pred = q.filter.as_ref().map(predicate).transpose()?;
    let sort = match &q.sort_by {
        None => None,
        Some(p)
            if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("displayName") =>
        {
            Some((GroupField::DisplayName, q.sort_order))
        }
        Some(p)
            if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("externalId") =>
        {
            Some((GroupField::ExternalId, q.sort_order))
        }
        Some(p) if p.urn.is_none() && p.sub.is_none() && p.attr.eq_ignore_ascii_case("id") => {
            Some((GroupField::Id, q.sort_order))
        }
        Some(p) => {
            return Err(ScimError::invalid_value(format!(
                "groups cannot be sorted by \"{p}\"; use displayName, externalId or id"
            ))
            .into())
        }
    };
    let (total, groups) = store::list(
        &app.db,
        &app.users,
        pred.as_ref(),
        sort,
        q.start_index,
        q.count,
        q.projection.wants("members"),
    )
    .await?;
    let resources = groups
        .iter()
        .map(|g| q.projection.apply(&app.groups, render(g, base).resource))
        .collect();
    Ok(list_response(total, q.start_index, resources))
}

async fn modify(
    app: &App,
    id: &str,
    base: &str,
    with_members: bool,
    if_match: Option<&str>,
    change: impl FnOnce(Value) -> Result<(Value, Vec<MemberChange>), ScimError>,
) -> Result<Answer, ServiceError> {
    let mut name = String::new();
    let r = store::modify(
        &app.db,
        &app.users,
        id,
        with_members,
        |current| -> Result<GroupPlanned, ServiceError> {
            super::check_if_match(if_match, &render(current, base).version)?;
            let (next, changes) = change(view(current))?;
            let planned = plan(app.users.host_groups.as_ref(), next, changes)?;
            name = planned.display_name.clone();
            Ok(planned)
        },
    )
    .await;
    match r {
        Ok(Ok(g)) => {
            info!(group = %g.display_name, id = %id, "updated group");
            Ok(render(&g, base))
        }
        Ok(Err(refusal)) => Err(refused(refusal, &name)),
        Err(ServiceError::Store(StoreError::NotFound)) => Err(not_found(id)),
        Err(e) => Err(e),
    }
}

/// `PUT /Groups/{id}`: the body replaces the group, members included (Okta's App Integration
/// Wizard apps push membership this way).
pub async fn replace(
    app: &App,
    id: &str,
    body: &Value,
    base: &str,
    if_match: Option<&str>,
) -> Result<Answer, ServiceError> {
    let normalized = app.groups.normalize(body)?;
    let keys = normalized
        .get("members")
        .map(member_keys)
        .transpose()?
        .unwrap_or_default();
    modify(app, id, base, true, if_match, move |_| {
        Ok((normalized, vec![MemberChange::ReplaceAll(keys)]))
    })
    .await
}

/// `PATCH /Groups/{id}`. Members are loaded for the answer only when `with_members`.
pub async fn patch(
    app: &App,
    id: &str,
    body: &Value,
    base: &str,
    with_members: bool,
    if_match: Option<&str>,
) -> Result<Answer, ServiceError> {
    let (attr_ops, changes) = split_ops(patch::parse_request(body)?)?;
    let rt = &app.groups;
    modify(app, id, base, with_members, if_match, move |current| {
        let next = if attr_ops.is_empty() {
            current
        } else {
            patch::apply(rt, &current, &attr_ops)?
        };
        Ok((next, changes))
    })
    .await
}

/// `DELETE /Groups/{id}`: the group and its memberships go; users stay.
pub async fn delete(app: &App, id: &str, if_match: Option<&str>) -> Result<(), ServiceError> {
    if let Some(expected) = if_match {
        let current = get(app, id, &Projection::parse(None, Some("members"))?, "").await?;
        super::check_if_match(Some(expected), &current.version)?;
    }
    if !store::delete(&app.db, &app.users, id).await? {
        return Err(not_found(id));
    }
    info!(id = %id, "deleted group");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::patch::parse_request;

    #[allow(clippy::needless_pass_by_value, reason = "callers pass json! literals")]
    fn split(ops: Value) -> Result<(Vec<PatchOp>, Vec<MemberChange>), ScimError> {
        split_ops(parse_request(
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops}),
        )?)
    }

    #[test]
    fn okta_membership_patch() {
        let (attrs, changes) = split(json!([
            {"op": "remove", "path": "members[value eq \"89bb1940\"]"},
            {"op": "add", "path": "members", "value": [{"value": "23a35c27", "display": "test.user@okta.local"}]}
        ]))
        .unwrap();
        assert!(attrs.is_empty());
        assert_eq!(
            changes,
            vec![
                MemberChange::Remove(vec!["89bb1940".into()]),
                MemberChange::Add(vec!["23a35c27".into()])
            ]
        );
    }

    #[test]
    fn okta_rename_with_id_and_entra_value_array_removal() {
        let (attrs, changes) = split(json!([
            {"op": "replace", "value": {"id": "g1", "displayName": "Renamed"}},
            {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u2"}]},
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u3"}]}
        ]))
        .unwrap();
        assert_eq!(attrs.len(), 1);
        assert_eq!(
            changes,
            vec![
                MemberChange::Remove(vec!["u1".into(), "u2".into()]),
                MemberChange::Add(vec!["u3".into()])
            ]
        );
    }

    #[test]
    fn full_replacement_and_removal() {
        let (_, c) = split(json!([{"op": "replace", "path": "members", "value": [{"value": "a"}]}, {"op": "remove", "path": "members"}])).unwrap();
        assert_eq!(
            c,
            vec![
                MemberChange::ReplaceAll(vec!["a".into()]),
                MemberChange::RemoveAll
            ]
        );
        let (a, c) = split(
            json!([{"op": "replace", "value": {"members": [{"value": "b"}], "displayName": "X"}}]),
        )
        .unwrap();
        assert_eq!(c, vec![MemberChange::ReplaceAll(vec!["b".into()])]);
        assert_eq!(a[0].value.as_ref().unwrap(), &json!({"displayName": "X"}));
        let (_, c) =
            split(json!([{"op": "remove", "path": "members[value eq \"a\" or value eq \"b\"]"}]))
                .unwrap();
        assert_eq!(c, vec![MemberChange::Remove(vec!["a".into(), "b".into()])]);
    }

    #[test]
    fn unsupported_member_forms_are_errors_not_no_ops() {
        assert!(split(json!([{"op": "remove", "path": "members[display eq \"x\"]"}])).is_err());
        assert!(split(
            json!([{"op": "replace", "path": "members[value eq \"a\"]", "value": {"value": "b"}}])
        )
        .is_err());
        assert!(split(
            json!([{"op": "add", "path": "members", "value": [{"value": "g", "type": "Group"}]}])
        )
        .is_err());
        assert!(
            split(json!([{"op": "add", "path": "members", "value": [{"display": "no id"}]}]))
                .is_err()
        );
        assert!(split(json!([{"op": "replace", "path": "members.value", "value": "x"}])).is_err());
    }

    #[test]
    fn group_filters() {
        let p = predicate(&Filter::parse("displayName eq \"Engineering\"").unwrap()).unwrap();
        assert_eq!(
            p,
            Pred::Cmp {
                target: Target::Column("display_name".into()),
                op: CompareOp::Eq,
                value: HostValue::Text("Engineering".into()),
                fold_case: true
            }
        );
        assert!(predicate(&Filter::parse("members[value eq \"7\"]").unwrap()).is_ok());
        assert!(predicate(&Filter::parse("members.value eq \"7\"").unwrap()).is_ok());
        assert!(predicate(&Filter::parse("meta.created gt \"2020\"").unwrap()).is_err());
    }
}
