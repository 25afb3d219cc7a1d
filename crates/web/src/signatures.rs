//! Signature checks of stored constancias, remembered. A stored document never changes after
//! it is issued (a correction issues a new one) and an issuer key's public half never changes
//! either, so the answer for one credential row is fixed: checking it once per process is
//! enough. Revocation and expiry are not cached; they are read on every request.

use std::collections::HashMap;
use std::sync::Mutex;
use violeta_domain::credential::Rejection;

/// Rows remembered at most; past it the memory starts over (a verification burst for one
/// course fits many times over).
const CAPACITY: usize = 200_000;

#[derive(Default)]
pub struct SignatureCache {
    checked: Mutex<HashMap<i64, Result<(), Rejection>>>,
}

impl SignatureCache {
    /// The remembered answer for credential row `id`, if it was checked before.
    pub fn get(&self, id: i64) -> Option<Result<(), Rejection>> {
        self.checked.lock().expect("signature cache").get(&id).cloned()
    }

    /// Remembers the answer of a check of credential row `id`, and returns it.
    pub fn remember(&self, id: i64, answer: Result<(), Rejection>) -> Result<(), Rejection> {
        // "Not yet valid" depends on the clock, not on the document: ask again next time.
        if answer == Err(Rejection::NotYetValid) {
            return answer;
        }
        let mut map = self.checked.lock().expect("signature cache");
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(id, answer.clone());
        answer
    }
}
