namespace AiGateway.Metering;

/// <summary>Registers the metered call pipeline.</summary>
public static class MeteringExtensions
{
    /// <summary>Adds the pipeline's steps and binds <see cref="MeteringOptions"/>.</summary>
    public static IServiceCollection AddMetering(this IServiceCollection services)
    {
        services.AddOptions<MeteringOptions>().BindConfiguration(MeteringOptions.SectionName)
            .Validate(o => o.MaxAttempts is >= 1 and <= 10, "Metering:MaxAttempts must be between 1 and 10.")
            .Validate(o => o.MaxBufferedResponseBytes > 0, "Metering:MaxBufferedResponseBytes must be positive.")
            .Validate(o => o.ReportedInputFactor is >= 1 and <= 1000, "Metering:ReportedInputFactor must be between 1 and 1000.")
            .Validate(o => o.ReportedInputSlackTokens is >= 0 and <= 1_000_000_000, "Metering:ReportedInputSlackTokens must be between 0 and 10^9.")
            .Validate(o => o.VideoJobHoldTtl > TimeSpan.Zero, "Metering:VideoJobHoldTtl must be positive.")
            .Validate(o => o.VideoPollInterval > TimeSpan.Zero && o.VideoPollMaxInterval >= o.VideoPollInterval,
                "Metering:VideoPollInterval must be positive and Metering:VideoPollMaxInterval at least as long.")
            .Validate(o => o.VideoPollConcurrency is >= 1 and <= 64, "Metering:VideoPollConcurrency must be between 1 and 64.")
            .ValidateOnStart();
        services.AddSingleton<OutputTokenStats>();
        services.AddSingleton<CallEstimator>();
        services.AddSingleton<CreditAdmission>();
        services.AddSingleton<CallSettler>();
        services.AddSingleton<CallRecorder>();
        services.AddSingleton<CallRecordWriter>();
        services.AddHostedService(sp => sp.GetRequiredService<CallRecordWriter>());
        services.AddSingleton<ResponseMeter>();
        services.AddSingleton<VideoJobs>();
        services.AddSingleton<VideoJobPoller>();
        services.AddHostedService(sp => sp.GetRequiredService<VideoJobPoller>());
        services.AddSingleton<HoldRenewer>();
        services.AddHostedService(sp => sp.GetRequiredService<HoldRenewer>());
        services.AddSingleton<Proxy.ResilientForwarder>();
        services.AddSingleton<SettlementJournal>();
        services.AddSingleton<SettlementReplayService>();
        services.AddHostedService(sp => sp.GetRequiredService<SettlementReplayService>());
        return services;
    }
}
