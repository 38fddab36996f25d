//! Images that lie about their size, and signed media URLs with a bounded lifetime.
