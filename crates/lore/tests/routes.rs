//! Every route of the served API description needs a key except the public ones, and a
//! path no route serves is a 404 that needs none and reveals nothing.

mod common;

use common::http::{client, json_of};
use common::Server;

#[test]
fn every_documented_route_needs_a_key_and_unknown_paths_are_plain_404s() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), &[]);
    let anonymous = client();
    let (s, spec) = json_of(anonymous.get(server.at("/openapi.json")).send().unwrap());
    assert_eq!(s, 200);
    let public = ["/health"];
    let mut walked = 0;
    for (path, item) in spec["paths"].as_object().unwrap() {
        // Path parameters get a placeholder value: the role is checked before the handler.
        let concrete: String = path
            .split('/')
            .map(|seg| if seg.starts_with('{') { "x" } else { seg })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let m: reqwest::Method = method.to_uppercase().parse().unwrap();
            let r = anonymous
                .request(m.clone(), server.at(&concrete))
                .send()
                .unwrap();
            let (status, v) = json_of(r);
            if public.contains(&path.as_str()) {
                assert_ne!(status, 401, "{m} {path} is public");
            } else {
                assert_eq!(status, 401, "{m} {path} without a key: {v}");
                assert_eq!(v["error"]["code"], "missing_api_key", "{m} {path}: {v}");
            }
            walked += 1;
        }
    }
    assert!(walked >= 29, "only {walked} operations in the spec");
    for path in ["/v1/nope", "/v1/admin/nope", "/v1/collections/x/nope"] {
        let (status, v) = json_of(anonymous.get(server.at(path)).send().unwrap());
        assert_eq!(
            (status, v["error"]["code"].as_str()),
            (404, Some("route_not_found")),
            "{path}: {v}"
        );
    }
}
