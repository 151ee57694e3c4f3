using System.Reflection;
using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;

namespace AiGateway.Bench;

/// <summary>
/// <c>cpu</c> mode: each benchmark of <see cref="MeteringPieces"/> timed by the thread's own CPU time
/// (<c>CLOCK_THREAD_CPUTIME_ID</c>) rather than wall time, with the bytes it allocates per operation. On a shared
/// machine wall-clock timings of sub-microsecond work mostly measure the other processes; CPU time does not.
/// Prints one line per benchmark and body: median CPU ns per operation over <c>rounds</c> rounds, and bytes allocated.
/// </summary>
public static class CpuHarness
{
    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [DllImport("libc", EntryPoint = "clock_gettime")]
    private static extern int ClockGetTime(int clock, out TimeSpec time);

    private const int ThreadCpuClock = 3;

    private static long ThreadCpuNs()
    {
        ClockGetTime(ThreadCpuClock, out var t);
        return t.Seconds * 1_000_000_000 + t.Nanoseconds;
    }

    /// <summary>Runs every benchmark whose name contains <paramref name="filter"/> (all when empty).</summary>
    public static void Run(string filter, int rounds)
    {
        var methods = typeof(MeteringPieces).GetMethods().Where(m => m.GetCustomAttribute<BenchmarkAttribute>() is not null
            && (filter.Length == 0 || m.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))).ToList();
        // Everything runs once before anything is measured: the first benchmark would otherwise time code the runtime is
        // still tiering up (instrumented, then optimized in the background).
        foreach (var body in new[] { "small", "chat" })
        {
            var pieces = new MeteringPieces { Body = body };
            pieces.Setup();
            foreach (var method in methods)
            {
                var op = Operation(method, pieces);
                var batch = Calibrate(op);
                for (var i = 0; i < 4; i++) Measure(op, batch);
            }
            pieces.Cleanup();
        }
        Console.WriteLine($"{"benchmark",-22} {"body",-6} {"CPU ns/op",10} {"bytes/op",9}");
        foreach (var body in new[] { "small", "chat" })
        {
            var pieces = new MeteringPieces { Body = body };
            pieces.Setup();
            foreach (var method in methods)
            {
                var op = Operation(method, pieces);
                var batch = Calibrate(op);
                Measure(op, batch);
                var samples = Enumerable.Range(0, rounds).Select(_ => Measure(op, batch)).ToList();
                var cpu = samples.Select(s => s.CpuNs).Order().ElementAt(rounds / 2);
                var bytes = samples.Select(s => s.Bytes).Min();
                Console.WriteLine($"{method.Name,-22} {body,-6} {cpu,10:F0} {bytes,9:F0}");
            }
            pieces.Cleanup();
        }
    }

    /// <summary>The benchmark as a direct delegate call (no reflection or boxing in the measured loop).</summary>
    private static Action Operation(MethodInfo method, MeteringPieces pieces)
    {
        if (method.ReturnType == typeof(Task<int>))
        {
            var run = method.CreateDelegate<Func<Task<int>>>(pieces);
            return () => run().GetAwaiter().GetResult();
        }
        if (method.ReturnType == typeof(long))
        {
            var run = method.CreateDelegate<Func<long>>(pieces);
            return () => run();
        }
        if (method.ReturnType == typeof(int))
        {
            var run = method.CreateDelegate<Func<int>>(pieces);
            return () => run();
        }
        var check = method.CreateDelegate<Func<bool>>(pieces);
        return () => check();
    }

    private static int Calibrate(Action op)
    {
        var batch = 16;
        while (true)
        {
            var start = ThreadCpuNs();
            for (var i = 0; i < batch; i++) op();
            if (ThreadCpuNs() - start > 50_000_000 || batch >= 1 << 22) return batch;
            batch *= 2;
        }
    }

    private static (double CpuNs, double Bytes) Measure(Action op, int batch)
    {
        var bytes0 = GC.GetAllocatedBytesForCurrentThread();
        var start = ThreadCpuNs();
        for (var i = 0; i < batch; i++) op();
        var cpu = ThreadCpuNs() - start;
        return ((double)cpu / batch, (double)(GC.GetAllocatedBytesForCurrentThread() - bytes0) / batch);
    }
}
