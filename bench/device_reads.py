# bench/device_reads.py: O_DIRECT random reads/s of a page file by thread count and read size (is the disk IOPS- or bandwidth-bound?).
import os, mmap, random, time, sys, threading
path=sys.argv[1]; size=os.path.getsize(path)
def run(nbytes, seconds=2.0, threads=1):
    counts=[0]*threads
    def worker(t):
        fd=os.open(path, os.O_RDONLY|os.O_DIRECT); buf=mmap.mmap(-1, 4096)
        mv=memoryview(buf)[:nbytes]; r=random.Random(t); end=time.time()+seconds; n=0
        while time.time()<end:
            off=r.randrange(0, size//4096-1)*4096 + r.choice([0, 2048 if nbytes<=2048 else 0])
            os.preadv(fd,[mv],off); n+=1
        counts[t]=n; os.close(fd)
    ts=[threading.Thread(target=worker,args=(t,)) for t in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    return sum(counts)/seconds
for threads in (1,4,16):
    for nb in (4096,2048,1024):
        print(f"threads {threads:2d} bytes {nb}: {run(nb,threads=threads):8.0f} reads/s", flush=True)
