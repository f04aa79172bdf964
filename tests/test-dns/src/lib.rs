//! test-dns (work in progress).
