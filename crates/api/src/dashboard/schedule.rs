//! The schedule timeline: scheduled deliveries per connection on a time axis, with the
//! platform windows that will delay them.
