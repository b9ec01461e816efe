//! Campaign tracking on item links: `utm_medium` and `utm_campaign` set on the
//! URL's query, the rest of the query kept as it was.

use url::Url;

/// `link` with `utm_medium` and `utm_campaign` (replacing any it had); a link
/// that is not an absolute URL is returned unchanged.
pub fn with_utm(link: &str, medium: &str, campaign: Option<&str>) -> String {
    let Ok(mut url) = Url::parse(link) else {
        return link.to_owned();
    };
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(name, _)| name != "utm_medium" && name != "utm_campaign")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    {
        let mut query = url.query_pairs_mut();
        query.clear();
        query.extend_pairs(kept);
        query.append_pair("utm_medium", medium);
        if let Some(campaign) = campaign {
            query.append_pair("utm_campaign", campaign);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_the_campaign_and_keeps_the_rest_of_the_query() {
        assert_eq!(
            with_utm("https://shop.example/p/1", "email", Some("winter")),
            "https://shop.example/p/1?utm_medium=email&utm_campaign=winter"
        );
        assert_eq!(
            with_utm(
                "https://shop.example/p/1?size=42&utm_medium=old#reviews",
                "email",
                Some("a b&c")
            ),
            "https://shop.example/p/1?size=42&utm_medium=email&utm_campaign=a+b%26c#reviews"
        );
        assert_eq!(with_utm("/relative/link", "email", None), "/relative/link");
    }
}
