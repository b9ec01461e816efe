//! The cases of AWS's EventBridge documentation (and of `TestEventPattern` runs
//! against AWS where the documentation is silent or wrong), pattern by pattern.
//! Sources: the EventBridge user guide's pages "Creating event patterns" (EP),
//! "Content filtering" (CF), "Comparison operators" (OP), "Arrays" (AR), "Null
//! values and empty strings" (NV), and the quotas page for the limits.

use serde_json::{Value, json};

use super::{Filter, MAX_OR_COMBINATIONS, MAX_PATTERN_CHARS};

fn parse(pattern: &str) -> Result<Filter, super::FilterError> {
    Filter::parse(&serde_json::from_str::<Value>(pattern).expect("JSON"))
}

/// (pattern, event, matches, source)
const CASES: &[(&str, &str, bool, &str)] = &[
    (
        r#"{"source":["aws.ec2"],"detail-type":["EC2 Instance State-change Notification"],"detail":{"state":["terminated"]}}"#,
        r#"{"source":"aws.ec2","detail-type":"EC2 Instance State-change Notification","detail":{"instance-id":"i-1","state":"terminated"}}"#,
        true,
        "EP",
    ),
    (
        r#"{"source":["aws.ec2"],"detail":{"state":["terminated"]}}"#,
        r#"{"source":"aws.ec2","detail":{"state":"running"}}"#,
        false,
        "EP",
    ),
    (
        r#"{"source":["aws.ec2","aws.fargate"]}"#,
        r#"{"source":"aws.fargate"}"#,
        true,
        "EP",
    ),
    (
        r#"{"source":["aws.ec2","aws.fargate"]}"#,
        r#"{"source":"aws.s3"}"#,
        false,
        "EP",
    ),
    (
        r#"{"Location":["New York"],"Day":["Monday"]}"#,
        r#"{"Location":"New York","Day":"Tuesday"}"#,
        false,
        "OP and",
    ),
    (
        r#"{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}"#,
        r#"{"Location":"Boston","Day":"Monday"}"#,
        true,
        "OP or",
    ),
    (
        r#"{"$or":[{"Location":["New York"]},{"Day":["Monday"]}]}"#,
        r#"{"Location":"Boston","Day":"Tuesday"}"#,
        false,
        "OP or",
    ),
    (
        r#"{"detail":{"risk-score":[80],"trigger":{"risk":[8]}}}"#,
        r#"{"detail":{"risk-score":80,"trigger":{"risk":8}}}"#,
        true,
        "EP",
    ),
    (
        r#"{"detail":{"responseElements":[null]}}"#,
        r#"{"detail":{"eventVersion":"","responseElements":null}}"#,
        true,
        "NV",
    ),
    (
        r#"{"detail":{"eventVersion":[""]}}"#,
        r#"{"detail":{"eventVersion":"","responseElements":null}}"#,
        true,
        "NV",
    ),
    (
        r#"{"detail":{"eventVersion":[null]}}"#,
        r#"{"detail":{"eventVersion":"","responseElements":null}}"#,
        false,
        "NV",
    ),
    (
        r#"{"detail":{"responseElements":[""]}}"#,
        r#"{"detail":{"eventVersion":"","responseElements":null}}"#,
        false,
        "NV",
    ),
    (
        r#"{"detail":{"responseElements":[null]}}"#,
        r#"{"detail":{"responseElements":"null"}}"#,
        false,
        "NV",
    ),
    (
        r#"{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f","arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f"]}"#,
        r#"{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/ASGTerminate","arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}"#,
        true,
        "AR",
    ),
    (
        r#"{"resources":["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]}"#,
        r#"{"resources":["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/ASGTerminate"]}"#,
        false,
        "AR",
    ),
    (r#"{"resources":[null]}"#, r#"{"resources":[]}"#, false, "AR"),
    (r#"{"flag":[false]}"#, r#"{"flag":true}"#, false, "EP"),
    // The guide says 300 and 300.0 differ; AWS matches them (TestEventPattern).
    (r#"{"number":[300]}"#, r#"{"number":300.0}"#, true, "EP, AWS"),
    (r#"{"number":[300]}"#, r#"{"number":"300"}"#, false, "EP"),
    (r#"{"MY_KEY":["my-value"]}"#, r#"{"my_key":"my-value"}"#, false, "EP"),
    (
        r#"{"detail":{"state":{"status":["running"]}}}"#,
        r#"{"detail":{"state.status":"running"}}"#,
        true,
        "AWS",
    ),
    (
        r#"{"detail":{"automations":{"id":[{"exists":true}]}}}"#,
        r#"{"detail":{"automations":[{"k":"v"},{"id":"x"}]}}"#,
        true,
        "AR",
    ),
    (
        r#"{"time":[{"prefix":"2017-10-02"}]}"#,
        r#"{"time":"2017-10-02T18:43:48Z"}"#,
        true,
        "CF",
    ),
    (
        r#"{"time":[{"prefix":"2022-07-99"}]}"#,
        r#"{"time":"2022-07-13T13:48:01Z"}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"service":[{"prefix":{"equals-ignore-case":"EventB"}}]}}"#,
        r#"{"detail":{"service":"EvEnTbridge"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"source":[{"prefix":""}]}"#,
        r#"{"source":"test-source"}"#,
        true,
        "CF",
    ),
    (
        r#"{"FileName":[{"suffix":".png"}]}"#,
        r#"{"FileName":"image.png"}"#,
        true,
        "CF",
    ),
    (
        r#"{"FileName":[{"suffix":".PNG"}]}"#,
        r#"{"FileName":"image.png"}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"FileName":[{"suffix":{"equals-ignore-case":".png"}}]}}"#,
        r#"{"detail":{"FileName":"image.PNG"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
        r#"{"detail":{"state":"pending"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
        r#"{"detail":{"state":"initializing"}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
        r#"{"detail":{}}"#,
        false,
        "CF, AWS",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":"initializing"}]}}"#,
        r#"{"detail":{"state":null}}"#,
        true,
        "CF, AWS",
    ),
    (
        r#"{"detail":{"x-limit":[{"anything-but":123}]}}"#,
        r#"{"detail":{"x-limit":123}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}"#,
        r#"{"detail":{"x-limit":999}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"x-limit":[{"anything-but":[100,200,300]}]}}"#,
        r#"{"detail":{"x-limit":100}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":["stopped","overloaded"]}]}}"#,
        r#"{"detail":{"state":"stopped"}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}"#,
        r#"{"detail":{"state":"initializing"}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":{"prefix":"init"}}]}}"#,
        r#"{"detail":{"state":12}}"#,
        true,
        "CF, AWS",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":{"prefix":["init","post"]}}]}}"#,
        r#"{"detail":{"state":"post-init"}}"#,
        false,
        "OP",
    ),
    (
        r#"{"FileName":[{"anything-but":{"suffix":".png"}}]}"#,
        r#"{"FileName":"a.png"}"#,
        false,
        "OP",
    ),
    (
        r#"{"detail":{"state":[{"anything-but":{"equals-ignore-case":"initializing"}}]}}"#,
        r#"{"detail":{"state":"INITIALIZING"}}"#,
        false,
        "OP",
    ),
    (
        r#"{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#,
        r#"{"FilePath":"/usr/lib/x.so"}"#,
        false,
        "OP",
    ),
    (
        r#"{"FilePath":[{"anything-but":{"wildcard":"*/lib/*"}}]}"#,
        r#"{"FilePath":"/usr/bin/x"}"#,
        true,
        "OP",
    ),
    (
        r#"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}"#,
        r#"{"detail":{"c-count":3,"d-count":9,"x-limit":301.8}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"c-count":[{"numeric":[">",0,"<=",5]}],"d-count":[{"numeric":["<",10]}],"x-limit":[{"numeric":["=",3.018e2]}]}}"#,
        r#"{"detail":{"c-count":42,"d-count":9,"x-limit":301.8}}"#,
        false,
        "CF",
    ),
    (
        r#"{"Price":[{"numeric":[">",10,"<=",20]}]}"#,
        r#"{"Price":10}"#,
        false,
        "OP",
    ),
    (
        r#"{"Price":[{"numeric":[">",10,"<=",20]}]}"#,
        r#"{"Price":20}"#,
        true,
        "OP",
    ),
    (
        r#"{"number":[{"numeric":[">",100]}]}"#,
        r#"{"number":"300"}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}"#,
        r#"{"detail":{"c-count":0,"d-count":0,"x-limit":901.8}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"$or":[{"c-count":[{"numeric":[">",0,"<=",5]}]},{"d-count":[{"numeric":["<",10]}]},{"x-limit":[{"numeric":["=",3.018e2]}]}]}}"#,
        r#"{"detail":{"c-count":0,"d-count":10,"x-limit":901.8}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"state":[{"exists":true}]}}"#,
        r#"{"detail":{"instance-id":"i-abcd1111","state":"pending"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"c-count":[{"exists":true}]}}"#,
        r#"{"detail":{"c-count":{"c1":100}}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"c-count":[{"exists":false}]}}"#,
        r#"{"detail":{"state":"running"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"c-count":[{"exists":false}]}}"#,
        r#"{"detail":{"c-count":{"c1":100}}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"c-count":[{"exists":false}]}}"#,
        r#"{"detail":{"c-count":5}}"#,
        false,
        "CF",
    ),
    (
        r#"{"resources":[{"exists":true}]}"#,
        r#"{"resources":[]}"#,
        false,
        "AR, AWS",
    ),
    (
        r#"{"detail-type":[{"equals-ignore-case":"ec2 instance state-change notification"}]}"#,
        r#"{"detail-type":"EC2 Instance State-change Notification"}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}"#,
        r#"{"detail":{"sourceIPAddress":"10.0.0.255"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}"#,
        r#"{"detail":{"sourceIPAddress":"10.0.1.1"}}"#,
        false,
        "CF",
    ),
    (
        r#"{"detail":{"sourceIPAddress":[{"cidr":"10.0.0.0/24"}]}}"#,
        r#"{"detail":{"sourceIPAddress":"10.0.0.256"}}"#,
        false,
        "CF, AWS",
    ),
    (
        r#"{"detail":{"sourceIPAddress":[{"cidr":"2001:db8:1234:1a00::/64"}]}}"#,
        r#"{"detail":{"sourceIPAddress":"2001:0db8:1234:1a00:0000:0000:0000:0000"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"FileName":[{"wildcard":"*.png"}]}"#,
        r#"{"FileName":"x.png"}"#,
        true,
        "OP",
    ),
    (
        r#"{"EventBusArn":[{"wildcard":"arn:aws:events:us-east-1:*:event-bus/*"}]}"#,
        r#"{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/myEventBus"}"#,
        true,
        "OP",
    ),
    (
        r#"{"FileName":[{"wildcard":"/Users/*/doc.txt"}]}"#,
        r#"{"FileName":"/Users/u/dir/dir/notmatchingdoc.txt"}"#,
        false,
        "OP",
    ),
    (
        r#"{"EventBusArn":[{"wildcard":""}]}"#,
        r#"{"EventBusArn":"arn:aws:events:us-east-1:123456789012:event-bus/b"}"#,
        false,
        "AWS",
    ),
    // A key named twice keeps its last value.
    (
        r#"{"detail":{"location":[{"prefix":"us-"}],"location":[{"anything-but":"us-east"}]}}"#,
        r#"{"detail":{"location":"eu-central-1"}}"#,
        true,
        "CF",
    ),
    (
        r#"{"dynamodb":{"NewImage":{"homemade":{"S":[{"anything-but":["roses"]},{"exists":false}]}}}}"#,
        r#"{"dynamodb":{"NewImage":{"purchased":{"N":"789"}}}}"#,
        true,
        "AWS",
    ),
    // Case folded one character at a time (a final sigma, a dotted capital I).
    (
        r#"{"s":[{"prefix":{"equals-ignore-case":"ΟΔΟΣ"}}]}"#,
        r#"{"s":"ΟΔΟΣΑ"}"#,
        true,
        "folding",
    ),
    (
        r#"{"s":[{"suffix":{"equals-ignore-case":"Σ"}}]}"#,
        r#"{"s":"ΟΣ"}"#,
        true,
        "folding",
    ),
    (
        r#"{"s":[{"equals-ignore-case":"İstanbul"}]}"#,
        r#"{"s":"istanbul"}"#,
        true,
        "folding",
    ),
    // Number literals as large as an account id, compared exactly past 2^53.
    (
        r#"{"account":[123456789012]}"#,
        r#"{"account":123456789012}"#,
        true,
        "EP",
    ),
    (
        r#"{"id":[9007199254740993]}"#,
        r#"{"id":9007199254740992}"#,
        false,
        "exact",
    ),
    (
        r#"{"id":[{"anything-but":[9007199254740993]}]}"#,
        r#"{"id":9007199254740992}"#,
        true,
        "exact",
    ),
    // The issue's example, on the envelope a subscriber receives.
    (
        r#"{"data":{"total":[{"numeric":[">=",100]}],"country":[{"anything-but":["US"]}]}}"#,
        r#"{"entityName":"ORDER","operation":"CREATE","data":{"total":120.5,"country":"CA"}}"#,
        true,
        "issue 28",
    ),
    (
        r#"{"data":{"total":[{"numeric":[">=",100]}],"country":[{"anything-but":["US"]}]}}"#,
        r#"{"entityName":"ORDER","operation":"CREATE","data":{"total":120.5,"country":"US"}}"#,
        false,
        "issue 28",
    ),
];

#[test]
fn every_documented_case_matches_as_eventbridge_matches_it() {
    for (pattern, event, expected, source) in CASES {
        let filter = parse(pattern).unwrap_or_else(|e| panic!("{source}: {pattern} refused: {e}"));
        let event: Value = serde_json::from_str(event).expect("event JSON");
        assert_eq!(filter.matches(&event), *expected, "{source}: {pattern} against {event}");
    }
}

/// (pattern, the part named, what the reason says)
const REFUSED: &[(&str, &str, &str)] = &[
    (r#"{"source":"aws.ec2"}"#, "source", "object or a list"),
    (r#"{"resources":[]}"#, "resources", "empty lists"),
    (r#"["not","a","dict"]"#, "", "JSON object"),
    (r#"{"k":[{"EXISTS":true}]}"#, "k[0].EXISTS", "unknown operator"),
    (
        r#"{"a":[{"wildcard":"arn:aws:events:us-east-1:**:event-bus/*"}]}"#,
        "a[0].wildcard",
        "consecutive",
    ),
    (
        r#"{"a":[{"wildcard":"*:*:*:*:*:event-bus/*"}]}"#,
        "a[0].wildcard",
        "more than 3",
    ),
    (r#"{"c":[{"numeric":[">",0,">",0]}]}"#, "c[0].numeric[2]", "ends with"),
    (r#"{"c":[{"numeric":10}]}"#, "c[0].numeric", "must be a list"),
    (r#"{"c":[{"numeric":[">",0,"<"]}]}"#, "c[0].numeric", "one operator"),
    (
        r#"{"c":[{"numeric":["=","5"]}]}"#,
        "c[0].numeric[1]",
        "must be a number",
    ),
    (r#"{"c":[{"numeric":[">",5,"<",1]}]}"#, "c[0].numeric", "less than"),
    (
        r#"{"c":[{"numeric":[">",6e9]}]}"#,
        "c[0].numeric[1]",
        "numbers are from",
    ),
    (r#"{"t":[{"prefix":["2022"]}]}"#, "t[0].prefix", "must be a string"),
    (r#"{"f":[{"suffix":[".png"]}]}"#, "f[0].suffix", "must be a string"),
    (
        r#"{"d":[{"equals-ignore-case":["x"]}]}"#,
        "d[0].equals-ignore-case",
        "must be a string",
    ),
    (
        r#"{"s":[{"anything-but":null}]}"#,
        "s[0].anything-but",
        "must be a string",
    ),
    (
        r#"{"s":[{"anything-but":["stopped",null]}]}"#,
        "s[0].anything-but",
        "strings only",
    ),
    (
        r#"{"s":[{"anything-but":["a",1]}]}"#,
        "s[0].anything-but",
        "strings only",
    ),
    (
        r#"{"f":[{"anything-but":{"prefix":""}}]}"#,
        "f[0].anything-but.prefix",
        "empty prefix",
    ),
    (
        r#"{"f":[{"anything-but":{"prefix":{"equals-ignore-case":"file"}}}]}"#,
        "f[0].anything-but.prefix",
        "string",
    ),
    (
        r#"{"s":[{"anything-but":{"equals-ignore-case":123}}]}"#,
        "s[0].anything-but.equals-ignore-case",
        "string",
    ),
    (
        r#"{"s":[{"anything-but":{"numeric":[">",1]}}]}"#,
        "s[0].anything-but.numeric",
        "anything-but takes",
    ),
    (r#"{"ip":[{"cidr":"bad-filter"}]}"#, "ip[0].cidr", "one '/'"),
    (r#"{"ip":[{"cidr":"xx.11.xx/8"}]}"#, "ip[0].cidr", "not an IP address"),
    (r#"{"ip":[{"cidr":["10.0.0.0/8"]}]}"#, "ip[0].cidr", "must be a string"),
    (r#"{"a":[{"prefix":"x","suffix":"y"}]}"#, "a[0]", "exactly one operator"),
    (r#"{"a":[{"exists":"true"}]}"#, "a[0].exists", "true or false"),
    (r#"{"a":[{"wildcard":"a\\b"}]}"#, "a[0].wildcard", "invalid escape"),
    (r#"{}"#, "", "empty objects"),
    (r#"{"detail":{}}"#, "detail", "empty objects"),
    (r#"{"a":[["nested"]]}"#, "a[0]", "string, number"),
    (r#"{"$or":[{"a":["x"]}]}"#, "$or", "at least 2"),
    (r#"{"$or":[{"a":["x"]},"b"]}"#, "$or[1]", "object"),
    (r#"{"":[null]}"#, "", "field name is not empty"),
    (r#"{"n":[1e-200]}"#, "n[0]", "1e-130"),
];

#[test]
fn patterns_eventbridge_refuses_are_refused_naming_the_part() {
    for (pattern, path, reason) in REFUSED {
        let refused = parse(pattern).expect_err(pattern);
        assert_eq!(refused.path, *path, "{pattern}: {refused}");
        assert!(refused.reason.contains(reason), "{pattern}: {refused}");
    }
}

#[test]
fn patterns_over_the_limits_are_refused() {
    // More than 1,000 $or combinations (11 × 11 × 11).
    let branches: Vec<Value> = (0..11).map(|n| json!({ format!("f{n}"): [n] })).collect();
    let too_many = json!({"a": {"$or": branches}, "b": {"$or": branches}, "c": {"$or": branches}});
    let refused = Filter::parse(&too_many).expect_err("1331 combinations");
    assert!(refused.reason.contains(&MAX_OR_COMBINATIONS.to_string()), "{refused}");
    // 10 × 10 × 10 is allowed.
    let branches: Vec<Value> = (0..10).map(|n| json!({ format!("f{n}"): [n] })).collect();
    let most = json!({"a": {"$or": branches}, "b": {"$or": branches}, "c": {"$or": branches}});
    assert!(Filter::parse(&most).is_ok());
    // Longer than 2,048 characters.
    let long = json!({ "a": ["x".repeat(MAX_PATTERN_CHARS)] });
    assert!(
        Filter::parse(&long)
            .expect_err("too long")
            .reason
            .contains("characters")
    );
    // Deeper than 10 levels.
    let mut deep = json!(["x"]);
    for n in 0..11 {
        deep = json!({ format!("l{n}"): deep });
    }
    assert!(Filter::parse(&deep).expect_err("too deep").reason.contains("levels"));
}

#[test]
fn a_pattern_and_an_event_take_memory_as_they_are_written_not_as_they_expand() {
    // 1,000 $or combinations beside a field of 400 values: kept as a tree, not
    // 1,000 copies of the 400 matchers.
    let branches: Vec<Value> = (0..10).map(|n| json!({ format!("f{n}"): [n] })).collect();
    let values: Vec<u32> = (0..400).collect();
    let pattern = json!({"a": {"$or": branches}, "b": {"$or": branches}, "c": {"$or": branches}, "z": values});
    let filter = Filter::parse(&pattern).expect("within the limits");
    assert_eq!(filter.root.fields.len(), 1);
    assert_eq!(filter.root.any_of.len(), 3);
    // An event is read only where the pattern looks: a member with a long key and
    // many scalars it does not name is skipped.
    let wide: serde_json::Map<String, Value> = (0..5_000).map(|n| (format!("k{n}"), json!(n))).collect();
    let event = json!({ "x".repeat(10_000): wide, "z": 7, "a": {"f1": 1}, "b": {"f2": 2}, "c": {"f3": 3} });
    assert!(filter.matches(&event));
}

#[test]
fn an_or_inside_a_field_keeps_its_path_and_ands_with_its_siblings() {
    let filter = parse(r#"{"entityName":["ORDER"],"data":{"$or":[{"total":[{"numeric":[">",100]}]},{"vip":[true]}]}}"#)
        .expect("valid");
    assert!(filter.matches(&json!({"entityName": "ORDER", "data": {"total": 150}})));
    assert!(filter.matches(&json!({"entityName": "ORDER", "data": {"total": 5, "vip": true}})));
    assert!(!filter.matches(&json!({"entityName": "ORDER", "data": {"total": 5}})));
    assert!(!filter.matches(&json!({"entityName": "ITEM", "data": {"total": 150}})));
}
