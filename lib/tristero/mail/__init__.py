"""Mail: one inbound message's journey: the pipeline's steps, screening, routing to a
handler (posting, the robot, an executable list, the bounce reader)."""
