/// Polls `condition` every 10 ms for up to ten seconds: tests wait for background work without fixed sleeps.
func eventually(_ condition: () -> Bool) async -> Bool {
    for _ in 0..<1000 {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}
