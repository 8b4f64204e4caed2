//! What keeps the agent in its cage: the egress firewall run from the network holder, and
//! secrets delivered at run time as files.

pub mod broker;
pub mod firewall;
pub mod report;
pub mod secrets;
