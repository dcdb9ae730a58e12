# bench/ping_watch.py — PINGs a server every 5 ms for DURATION seconds and prints the round-trip distribution; with
# --stacks FILE, a PING pending over 300 ms dumps the event-loop thread's stack (gdb) into FILE, up to 6 times.
#   python3 bench/ping_watch.py PORT DURATION [--pid PID --stacks FILE]
import socket, subprocess, sys, threading, time

port, duration = int(sys.argv[1]), float(sys.argv[2])
pid = int(sys.argv[sys.argv.index("--pid") + 1]) if "--pid" in sys.argv else None
stacks = open(sys.argv[sys.argv.index("--stacks") + 1], "w") if "--stacks" in sys.argv else None
s = socket.create_connection(("127.0.0.1", port))
s.settimeout(60)
rtts, dumps = [], 0
stop = time.time() + duration
while time.time() < stop:
    started = time.time()
    s.sendall(b"PING\r\n")
    answered = threading.Event()

    def dump():
        global dumps
        if stacks and pid and not answered.wait(0.3) and dumps < 6:
            dumps += 1
            bt = subprocess.run(["gdb", "-p", str(pid), "-batch", "-ex", "thread apply 1 bt 25"],
                                capture_output=True, text=True).stdout
            stacks.write(f"=== PING pending > 300 ms at {time.strftime('%H:%M:%S')}\n")
            stacks.write("\n".join(line for line in bt.splitlines() if line.startswith("#")) + "\n")
            stacks.flush()

    watcher = threading.Thread(target=dump)
    watcher.start()
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += s.recv(64)
    answered.set()
    watcher.join()
    rtts.append(time.time() - started)
    time.sleep(0.005)
rtts.sort()
print(f"pings {len(rtts)} p50 {rtts[len(rtts) // 2] * 1000:.2f} ms p99 {rtts[int(len(rtts) * 0.99)] * 1000:.1f} ms "
      f"max {rtts[-1] * 1000:.0f} ms, >100ms: {sum(1 for x in rtts if x > 0.1)}")
