using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

if (args is ["cpu", ..])
{
    // bench/Metering/Micro: `dotnet run -c Release -- cpu [filter] [rounds]` (see CpuHarness).
    AiGateway.Bench.CpuHarness.Run(args.Length > 1 ? args[1] : "", args.Length > 2 ? int.Parse(args[2]) : 7);
    return;
}

// In-process (no generated project per run: the machine is small and shared); short jobs; allocations per operation.
var config = DefaultConfig.Instance
    .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance).WithWarmupCount(3).WithIterationCount(8))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(AiGateway.Bench.MeteringPieces).Assembly).Run(args, config);
