using AiGateway.Ledger;
using Microsoft.Extensions.Configuration;

namespace AiGateway.Tests.Ledger;

/// <summary>
/// The instance id file is created on first use. Hosts starting at the same moment on one data folder (several test
/// gateways in one process, a restart racing its predecessor's shutdown) must not fail start-up over it, and must end
/// with the one id the file keeps.
/// </summary>
public sealed class InstanceIdentityTests
{
    [Fact]
    public async Task Resolve_ManyAtOnceOnAFreshFolder_AllGetTheIdTheFileKeeps()
    {
        var configuration = new ConfigurationBuilder().Build();
        for (var round = 0; round < 200; round++)
        {
            var folder = Path.Combine(Path.GetTempPath(), $"aigw-instance-{Guid.NewGuid():N}");
            var options = new LedgerOptions { InstanceIdPath = Path.Combine(folder, "instance-id") };
            try
            {
                // Dedicated threads released together by a barrier: thread-pool tasks would mostly run one after another.
                var ids = new string?[8];
                var errors = new Exception?[ids.Length];
                using var barrier = new Barrier(ids.Length);
                var threads = Enumerable.Range(0, ids.Length).Select(i => new Thread(() =>
                {
                    barrier.SignalAndWait();
                    try { ids[i] = InstanceIdentity.Resolve(options, configuration); }
                    catch (Exception ex) { errors[i] = ex; }
                })).ToArray();
                foreach (var thread in threads) thread.Start();
                foreach (var thread in threads) thread.Join();

                Assert.True(errors.All(e => e is null), $"round {round}: {errors.FirstOrDefault(e => e is not null)}");

                var kept = (await File.ReadAllTextAsync(options.InstanceIdPath)).Trim();
                Assert.True(ids.All(id => id == kept), $"round {round}: ids {string.Join(", ", ids.Distinct())}, the file keeps {kept}");
                Assert.Equal([Path.GetFileName(options.InstanceIdPath)], Directory.GetFiles(folder).Select(Path.GetFileName));
            }
            finally
            {
                if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            }
        }
    }
}
