using AiGateway.Storage;
using Microsoft.Extensions.Options;

namespace AiGateway.Ledger;

/// <summary>Registers the credit ledger.</summary>
public static class LedgerServiceCollectionExtensions
{
    /// <summary>
    /// Adds the ledger storage, <see cref="CreditLedger"/>, <see cref="PlanCatalog"/>, options
    /// (<c>Ledger</c>, <c>Plans</c>, validated at start-up) and the background sweep.
    /// </summary>
    public static IServiceCollection AddLedger(this IServiceCollection services, IConfiguration configuration)
    {
        if (!services.Any(d => d.ServiceType == typeof(Microsoft.EntityFrameworkCore.IDbContextFactory<LedgerDbContext>)))
            services.AddLedgerStorage(configuration);
        services.TryAddSingletonTimeProvider();
        services.AddOptions<LedgerOptions>().BindConfiguration(LedgerOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(o => o.HoldTtl > TimeSpan.Zero, "Ledger:HoldTtl must be positive.")
            // Renewed at least twice within a TTL, so one late or failed renewal never lets a running call's hold expire.
            .Validate(o => o.EffectiveHoldRenewInterval > TimeSpan.Zero && o.EffectiveHoldRenewInterval * 3 <= o.HoldTtl,
                "Ledger:HoldRenewInterval must be positive and at most a third of Ledger:HoldTtl.")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Ledger:SweepInterval must be positive.")
            .Validate(o => o.LeaseTtl >= TimeSpan.FromSeconds(3), "Ledger:LeaseTtl must be at least 3 seconds.")
            .Validate(o => o.LeaseRefreshInterval > TimeSpan.Zero && o.LeaseRefreshInterval * 3 <= o.LeaseTtl,
                "Ledger:LeaseRefreshInterval must be positive and at most a third of Ledger:LeaseTtl.")
            .Validate(o => o.LeaseSpendWindow > TimeSpan.Zero, "Ledger:LeaseSpendWindow must be positive.")
            .Validate(o => o.SettlementBatchDelay >= TimeSpan.Zero && o.SettlementBatchDelay <= TimeSpan.FromMilliseconds(100),
                "Ledger:SettlementBatchDelay must be between 0 and 100 ms.")
            .Validate(o => o.KindPriority.All(CreditKinds.IsKnown), "Ledger:KindPriority may only list: plan, daily, referral, bonus, addon.")
            .ValidateOnStart();
        services.AddOptions<PlansOptions>().BindConfiguration(PlansOptions.SectionName)
            .Validate(plans => plans.Values.All(p => p.MonthlyCredits >= 0 && p.DailyCredits >= 0),
                "Plans: monthlyCredits and dailyCredits must not be negative.")
            .Validate(plans => plans.Values.All(p => p.OveragePolicy is OveragePolicies.Overage or OveragePolicies.Clamp),
                "Plans: overagePolicy must be 'overage' or 'clamp'.")
            .Validate(plans => plans.Values.All(p => p.Welcome is null || (p.Welcome.Credits > 0 && CreditKinds.IsKnown(p.Welcome.Kind))),
                "Plans: welcome needs positive credits and a known kind.")
            .Validate(plans => plans.Values.All(p => p.Recurring.All(r => r.Credits > 0 && CreditKinds.IsKnown(r.Kind) && LedgerPeriods.IsKnown(r.Period))),
                "Plans: each recurring grant needs positive credits, a known kind and a period of day, week or month.")
            .ValidateOnStart();
        services.AddSingleton<PlanCatalog>();
        services.AddSingleton(sp => new CreditLedger(sp.GetRequiredService<DatabaseWriter>(),
            sp.GetRequiredService<Microsoft.EntityFrameworkCore.IDbContextFactory<LedgerDbContext>>(), sp.GetRequiredService<IOptions<LedgerOptions>>(),
            sp.GetRequiredService<PlanCatalog>(), sp.GetRequiredService<TimeProvider>(), sp.GetService<Notifications.NotificationOutbox>()));
        services.AddSingleton(sp => new CreditLeases(sp.GetRequiredService<CreditLedger>(), sp.GetRequiredService<IOptions<LedgerOptions>>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CreditLeases>>(),
            InstanceIdentity.Resolve(sp.GetRequiredService<IOptions<LedgerOptions>>().Value, sp.GetRequiredService<IConfiguration>()),
            InstanceIdentity.AdmissionLogPath(sp.GetRequiredService<IOptions<LedgerOptions>>().Value, sp.GetRequiredService<IConfiguration>())));
        services.AddHostedService(sp => sp.GetRequiredService<CreditLeases>());
        services.AddHostedService<LedgerSweepService>();
        return services;
    }

    private static void TryAddSingletonTimeProvider(this IServiceCollection services)
    {
        if (!services.Any(d => d.ServiceType == typeof(TimeProvider))) services.AddSingleton(TimeProvider.System);
    }
}
