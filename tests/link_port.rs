//! The link port of last time: a node started again on the same data directory binds
//! the link port it had (peers and rooms that remember it reach it there), and one whose
//! port was taken meanwhile still starts, on another. On loopback, in one process.

mod common;

use std::net::TcpListener;

use common::{TempDir, TestNode, free_udp_port};

#[test]
fn a_node_binds_its_link_port_of_last_time_or_another_when_it_is_taken() {
    let dir = TempDir::new("link-port");
    let (data, discovery) = (dir.join("alice"), free_udp_port());
    let mut first = TestNode::start("alice", &data, discovery);
    let port = first.port;
    assert_ne!(port, 0);
    first.handle.shutdown();

    let mut again = TestNode::start("alice", &data, discovery);
    assert_eq!(again.port, port, "the link port of last time");
    again.handle.shutdown();

    // Someone else listens there now: another port, and that one is kept next.
    let squatter = TcpListener::bind(("127.0.0.1", port)).expect("take the port");
    let mut moved = TestNode::start("alice", &data, discovery);
    assert_ne!(moved.port, port, "not the squatter's port");
    let moved_to = moved.port;
    moved.handle.shutdown();
    drop(squatter);
    let last = TestNode::start("alice", &data, discovery);
    assert_eq!(last.port, moved_to, "the port it had last");
}
