//! The loyalty rules API through its handlers and the real DynamoDB SDK, against
//! moto (IAM enforced by the local stack).

mod common;

use common::{ApiRequest, TestStack, parts};
use serde_json::{Value, json};

fn rule(name: &str) -> Value {
    json!({
        "name": name, "ruleSet": "ACTION", "active": true, "priority": 10,
        "validFrom": null, "validTo": null,
        "conditions": {"nameSpaces": ["Customer.Registration"], "campaigns": [], "minAmount": null,
                       "attributes": {"channel": "web"}, "maxPerCustomer": 1},
        "fulfilment": {"points": {"fixed": 100}, "pointsExpireAfterDays": 365,
                       "reward": {"code": "WELCOME10", "description": "10% off"}, "exclusive": false}
    })
}

async fn create(stack: &TestStack, tenant: &str, body: &Value) -> (u16, Value) {
    let request = ApiRequest::new("POST", "/api/v1/rules")
        .for_tenant(tenant)
        .json(body)
        .build();
    parts(stack.call("create-rule", request).await)
}

fn on_rule(method: &str, tenant: &str, id: &str, suffix: &str) -> ApiRequest {
    ApiRequest::new(method, &format!("/api/v1/rules/{id}{suffix}"))
        .for_tenant(tenant)
        .path_param("ruleId", id)
}

fn fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["field"].as_str())
        .collect()
}

#[tokio::test]
async fn a_rule_is_created_read_replaced_and_deactivated_but_never_lost() {
    let stack = TestStack::new().await;
    // WHEN acme creates the registration bonus
    let (status, created) = create(&stack, "acme", &rule("Registration bonus")).await;
    // THEN it has a rul_ id, version 1, and reads back as sent
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("id").to_owned();
    assert!(id.starts_with("rul_"), "{id}");
    assert_eq!((&created["version"], &created["active"]), (&json!(1), &json!(true)));
    assert_eq!(created["fulfilment"]["points"], json!({"fixed": 100}));
    let (status, read) = parts(stack.call("get-rule", on_rule("GET", "acme", &id, "").build()).await);
    assert_eq!((status, &read), (200, &created));
    // AND another tenant does not find it
    assert_eq!(
        parts(stack.call("get-rule", on_rule("GET", "globex", &id, "").build()).await).0,
        404
    );
    // WHEN it is replaced from a stale version THEN 409; from the current one, 200
    let mut changed = rule("Registration bonus");
    changed["fulfilment"]["points"] = json!({"perCurrencyUnit": 2.0});
    changed["version"] = json!(7);
    let stale = on_rule("PUT", "acme", &id, "").json(&changed).build();
    assert_eq!(parts(stack.call("update-rule", stale).await).0, 409);
    changed["version"] = json!(1);
    let (status, replaced) = parts(
        stack
            .call("update-rule", on_rule("PUT", "acme", &id, "").json(&changed).build())
            .await,
    );
    assert_eq!(status, 200, "{replaced}");
    assert_eq!(replaced["fulfilment"]["points"], json!({"perCurrencyUnit": 2.0}));
    assert_eq!(
        (&replaced["version"], &replaced["createdAt"]),
        (&json!(2), &created["createdAt"])
    );
    // AND its id never changes
    let mut renamed = rule("Registration bonus");
    renamed["id"] = json!("rul_other");
    let (status, problem) = parts(
        stack
            .call("update-rule", on_rule("PUT", "acme", &id, "").json(&renamed).build())
            .await,
    );
    assert_eq!((status, fields(&problem)), (400, vec!["id"]));
    // WHEN it is deactivated (twice) THEN it stays readable, and listed, inactive
    for _ in 0..2 {
        let (status, deactivated) = parts(
            stack
                .call("deactivate-rule", on_rule("POST", "acme", &id, "/deactivate").build())
                .await,
        );
        assert_eq!((status, &deactivated["active"]), (200, &json!(false)), "{deactivated}");
    }
    let list = ApiRequest::new("GET", "/api/v1/rules").for_tenant("acme").build();
    let (_, page) = parts(stack.call("list-rules", list).await);
    assert_eq!(page["items"][0]["active"], false);
}

#[tokio::test]
async fn rules_are_listed_a_page_at_a_time() {
    // GIVEN three rules of acme's and one of globex's
    let stack = TestStack::new().await;
    for i in 1..=3 {
        let mut body = rule(&format!("Rule {i}"));
        body["id"] = json!(format!("rul_{i}"));
        assert_eq!(create(&stack, "acme", &body).await.0, 201);
    }
    assert_eq!(create(&stack, "globex", &rule("Theirs")).await.0, 201);
    // WHEN acme lists two at a time
    let first = ApiRequest::new("GET", "/api/v1/rules")
        .for_tenant("acme")
        .query("limit", "2")
        .build();
    let (status, page) = parts(stack.call("list-rules", first).await);
    assert_eq!(status, 200, "{page}");
    let token = page["next_token"].as_str().expect("more").to_owned();
    let second = ApiRequest::new("GET", "/api/v1/rules")
        .for_tenant("acme")
        .query("limit", "2")
        .query("next_token", &token)
        .build();
    let (_, rest) = parts(stack.call("list-rules", second).await);
    // THEN it sees its own three, in id order, and the last page says so
    let ids: Vec<&str> = [&page, &rest]
        .iter()
        .flat_map(|p| p["items"].as_array().into_iter().flatten())
        .filter_map(|r| r["id"].as_str())
        .collect();
    assert_eq!(ids, ["rul_1", "rul_2", "rul_3"]);
    assert_eq!(rest["next_token"], Value::Null);
    // AND a token this API did not issue is a 400
    let forged = ApiRequest::new("GET", "/api/v1/rules")
        .for_tenant("acme")
        .query("next_token", "bm90LWEtdG9rZW4")
        .build();
    assert_eq!(parts(stack.call("list-rules", forged).await).0, 400);
}

#[tokio::test]
async fn an_invalid_rule_is_refused_naming_each_field_and_nothing_is_stored() {
    let stack = TestStack::new().await;
    let mut body = rule("Bad");
    body["ruleSet"] = json!("LOTTERY");
    let (status, problem) = create(&stack, "acme", &body).await;
    assert_eq!((status, fields(&problem)), (400, vec!["ruleSet"]), "{problem}");
    let mut body = rule("Bad");
    body["fulfilment"]["points"] = json!({"fixed": -5});
    body["validFrom"] = json!("2026-12-01T00:00:00Z");
    body["validTo"] = json!("2026-11-01T00:00:00Z");
    body["conditions"]["items"] = json!({"tags": ["shoes"]});
    let (status, problem) = create(&stack, "acme", &body).await;
    assert_eq!(status, 400, "{problem}");
    assert_eq!(
        fields(&problem),
        ["validTo", "conditions.items", "fulfilment.points.fixed"]
    );
    let list = ApiRequest::new("GET", "/api/v1/rules").for_tenant("acme").build();
    let (_, page) = parts(stack.call("list-rules", list).await);
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn a_tenant_keeps_at_most_its_quota_of_rules() {
    // GIVEN tenants may keep two rules, and acme has two (one deactivated)
    let mut stack = TestStack::new().await;
    stack.stack = stack
        .stack
        .clone()
        .with_parameter("MaxRulesPerTenant", "2")
        .expect("parameter");
    let (_, first) = create(&stack, "acme", &rule("One")).await;
    assert_eq!(create(&stack, "acme", &rule("Two")).await.0, 201);
    let id = first["id"].as_str().expect("id");
    stack
        .call("deactivate-rule", on_rule("POST", "acme", id, "/deactivate").build())
        .await;
    // WHEN acme creates a third THEN 409 naming the limit
    let (status, problem) = create(&stack, "acme", &rule("Three")).await;
    assert_eq!(status, 409, "{problem}");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("MaxRulesPerTenant"),
        "{problem}"
    );
    // AND another tenant is not held to acme's count
    assert_eq!(create(&stack, "globex", &rule("One")).await.0, 201);
}

fn basket(event_id: &str) -> Value {
    json!({
        "eventId": event_id, "customerId": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "nameSpace": "Basket.Assess",
        "basket": {"basketId": "B-1", "basketTotal": 300, "basketItems": [
            {"basketItemId": "1", "quantity": 1, "totalPrice": 120, "tags": ["shoes"]},
            {"basketItemId": "2", "quantity": 1, "totalPrice": 80,
             "basketItemParts": [{"basketItemPartId": "2a", "tags": ["shoes"]}]},
            {"basketItemId": "3", "quantity": 3, "totalPrice": 100, "tags": ["hats"]}
        ]}
    })
}

async fn assess(stack: &TestStack, body: &Value) -> (u16, Value) {
    let request = ApiRequest::new("POST", "/api/v1/events/basket")
        .for_tenant("acme")
        .json(body)
        .build();
    parts(stack.call("assess-basket", request).await)
}

#[tokio::test]
async fn a_basket_is_stored_and_answered_with_what_its_basket_rules_give() {
    // GIVEN a BASKET rule for two tagged items, an exclusive one before it that
    // does not match, and an ORDER rule that is not for baskets
    let stack = TestStack::new().await;
    let shoes = json!({"id": "rul_shoes", "name": "Shoes", "ruleSet": "BASKET", "priority": 2,
        "conditions": {"items": {"tags": ["shoes"], "minQuantity": 2}},
        "fulfilment": {"points": {"perCurrencyUnit": 1}, "reward": {"code": "SOCKS"}}});
    let campaign = json!({"id": "rul_campaign", "name": "Campaign only", "ruleSet": "BASKET", "priority": 1,
        "conditions": {"campaigns": ["summer"]}, "fulfilment": {"points": {"fixed": 500}, "exclusive": true}});
    let orders = json!({"id": "rul_orders", "name": "Orders", "ruleSet": "ORDER",
        "fulfilment": {"points": {"fixed": 5}}});
    for rule in [&shoes, &campaign, &orders] {
        assert_eq!(create(&stack, "acme", rule).await.0, 201);
    }
    // WHEN a basket with two tagged lines (one through its part) is assessed
    let event_id = "7c2e9a41-5b3d-4f6e-9a8b-1c2d3e4f5a6b";
    let (status, answer) = assess(&stack, &basket(event_id)).await;
    // THEN the shoes rule gives the two lines' total, 200 points, and its reward
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({"eventId": event_id, "customerId": "3fa85f64-5717-4562-b3fc-2c963f66afa6", "tenantId": "acme",
               "basketId": "B-1", "isExisting": false, "totalPoints": 200,
               "fulfilments": [{"ruleId": "rul_shoes", "name": "Shoes", "points": 200,
                                "reward": {"code": "SOCKS"}}]})
    );
    // AND the basket is stored as a BASKET event, once
    let read = ApiRequest::new("GET", &format!("/api/v1/events/{event_id}"))
        .for_tenant("acme")
        .path_param("eventId", event_id)
        .build();
    let (status, event) = parts(stack.call("get-event", read).await);
    assert_eq!(
        (status, event["entity_name"].as_str()),
        (200, Some("BASKET")),
        "{event}"
    );
    let (_, again) = assess(&stack, &basket(event_id)).await;
    assert_eq!(again["isExisting"], true);
    // AND a basket without its id is refused, naming the field
    let mut no_id = basket("8d3f0b52-6c4e-4a7f-8b9c-2d3e4f5a6b7c");
    no_id["basket"].as_object_mut().expect("basket").remove("basketId");
    let (status, problem) = assess(&stack, &no_id).await;
    assert_eq!((status, fields(&problem)), (400, vec!["basket.basketId"]), "{problem}");
}
