//! Collections: a GET followed through `@odata.nextLink` until the last page, within
//! [`MAX_PAGES`] so that a server that keeps handing out links cannot loop the client forever.

use reqwest::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::client::GraphClient;
use super::error::GraphError;

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(default, rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// Limit on pages followed, so a server that keeps handing out links cannot loop us forever.
pub const MAX_PAGES: usize = 100;

impl GraphClient {
    pub(super) async fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        filter: Option<&str>,
    ) -> Result<Vec<T>, GraphError> {
        let query: Vec<(&str, &str)> = filter.map(|f| ("$filter", f)).into_iter().collect();
        let mut url = self.url(path, &query)?;
        let mut items = Vec::new();
        for _ in 0..MAX_PAGES {
            let page: Page<T> = self.send_url(Method::GET, url, None).await?;
            items.extend(page.value);
            match page.next_link {
                Some(next) => url = next,
                None => return Ok(items),
            }
        }
        Err(GraphError::TooManyPages {
            path: path.to_owned(),
            pages: MAX_PAGES,
        })
    }
}
