SELECT
  "t1"."customer_id",
  "t1"."recency_days",
  "t1"."frequency",
  "t1"."monetary_total",
  CASE
    WHEN (
      "t1"."__segmint_r" * 10
    ) + "t1"."__segmint_fm" IN (11, 21)
    THEN 'Gone'
    WHEN (
      "t1"."__segmint_r" * 10
    ) + "t1"."__segmint_fm" IN (12, 13, 22, 23, 31)
    THEN 'Other'
    WHEN (
      "t1"."__segmint_r" * 10
    ) + "t1"."__segmint_fm" IN (32, 33)
    THEN 'Best'
    ELSE 'No purchase'
  END AS "segment"
FROM (
  SELECT
    "t0"."customer_id",
    "t0"."recency_days",
    "t0"."frequency",
    "t0"."monetary_total",
    CASE
      WHEN COALESCE(CAST("t0"."frequency" AS DOUBLE) > 0.0, FALSE)
      THEN 1 + CASE
        WHEN COALESCE(CAST("t0"."recency_days" AS DOUBLE) <= 30.0, FALSE)
        THEN 1
        ELSE 0
      END + CASE
        WHEN COALESCE(CAST("t0"."recency_days" AS DOUBLE) <= 5.0, FALSE)
        THEN 1
        ELSE 0
      END
      ELSE 0
    END AS "__segmint_r",
    CASE
      WHEN COALESCE(CAST("t0"."frequency" AS DOUBLE) > 0.0, FALSE)
      THEN CAST(FLOOR(
        (
          1 + CASE WHEN COALESCE(CAST("t0"."frequency" AS DOUBLE) >= 2.0, FALSE) THEN 1 ELSE 0 END + CASE WHEN COALESCE(CAST("t0"."frequency" AS DOUBLE) >= 7.0, FALSE) THEN 1 ELSE 0 END + (
            1 + CASE
              WHEN COALESCE(
                CASE
                  WHEN ISNAN("t0"."monetary_total")
                  THEN CAST(NULL AS DOUBLE)
                  ELSE "t0"."monetary_total"
                END >= 40.0,
                FALSE
              )
              THEN 1
              ELSE 0
            END + CASE
              WHEN COALESCE(
                CASE
                  WHEN ISNAN("t0"."monetary_total")
                  THEN CAST(NULL AS DOUBLE)
                  ELSE "t0"."monetary_total"
                END >= 90.5,
                FALSE
              )
              THEN 1
              ELSE 0
            END
          ) + 1
        ) / (
          2
        )
      ) AS BIGINT)
      ELSE 0
    END AS "__segmint_fm"
  FROM "customer_features" AS "t0"
) AS "t1"
