//! Signature checks of stored constancias, remembered. Checking a document (canonical JSON,
//! two hashes, an Ed25519 verification) costs far more than finding it, and the answer for
//! the same document bytes and issuer never changes. The memory is keyed by the row, the
//! issuer and a keyed hash of the stored document, so a document altered in the database is
//! checked again (and caught). Revocation and expiry are not remembered: they are read on
//! every request.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use violeta_domain::credential::Rejection;

/// Documents remembered at most; past it the memory starts over.
const CAPACITY: usize = 200_000;

#[derive(Default)]
pub struct SignatureCache {
    /// Random keys per process: nobody outside can aim for a collision.
    hasher: RandomState,
    checked: Mutex<HashMap<(i64, i64, u64), Result<(), Rejection>>>,
}

impl SignatureCache {
    fn key(&self, id: i64, issuer_id: i64, document: &str) -> (i64, i64, u64) {
        (id, issuer_id, self.hasher.hash_one(document))
    }

    /// The remembered answer for this stored document, if it was checked before.
    pub fn get(&self, id: i64, issuer_id: i64, document: &str) -> Option<Result<(), Rejection>> {
        let key = self.key(id, issuer_id, document);
        self.checked.lock().expect("signature cache").get(&key).cloned()
    }

    /// Remembers the answer of a check of this stored document, and returns it.
    pub fn remember(&self, id: i64, issuer_id: i64, document: &str, answer: Result<(), Rejection>) -> Result<(), Rejection> {
        // "Not yet valid" depends on the clock, not on the document: ask again next time.
        if answer == Err(Rejection::NotYetValid) {
            return answer;
        }
        let key = self.key(id, issuer_id, document);
        let mut map = self.checked.lock().expect("signature cache");
        if map.len() >= CAPACITY {
            map.clear();
        }
        map.insert(key, answer.clone());
        answer
    }
}
