//! Erasing users on Lambda: the work message that starts or continues a user's erasure
//! (`work`), sent by the API and by the eraser itself, and the eraser's batch handler
//! (`worker`), which advances each erasure until the invocation's time runs out and then
//! sends itself a continuation.

pub mod work;
pub mod worker;
