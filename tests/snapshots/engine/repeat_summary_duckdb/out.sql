SELECT
  "t3"."customer_id",
  "t3"."n" - 1 AS "frequency",
  CAST("t3"."last" - "t3"."first" AS DOUBLE) / 7.0 AS "recency",
  CAST(DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), MAKE_DATE(2024, 3, 1)) - "t3"."first" AS DOUBLE) / 7.0 AS "T",
  CASE
    WHEN (
      "t3"."n" - 1
    ) > 0
    THEN (
      "t3"."revenue" - "t3"."first_value"
    ) / CAST("t3"."n" - 1 AS DOUBLE)
    ELSE 0.0
  END AS "monetary_value",
  "t3"."revenue"
FROM (
  SELECT
    "t2"."customer_id",
    COUNT("t2"."day") AS "n",
    MIN("t2"."day") AS "first",
    MAX("t2"."day") AS "last",
    CASE
      WHEN (
        SUM(
          CAST(CASE
            WHEN COALESCE(ABS("t2"."value") < 1000000000000.0, FALSE)
            THEN "t2"."value"
            ELSE NULL
          END AS DECIMAL(18, 6))
        ) IS NULL
      )
      AND (
        SUM(
          CASE
            WHEN COALESCE(ABS("t2"."value") < 1000000000000.0, FALSE)
            THEN NULL
            ELSE "t2"."value"
          END
        ) IS NULL
      )
      THEN CAST(NULL AS DOUBLE)
      ELSE COALESCE(
        CAST(SUM(
          CAST(CASE
            WHEN COALESCE(ABS("t2"."value") < 1000000000000.0, FALSE)
            THEN "t2"."value"
            ELSE NULL
          END AS DECIMAL(18, 6))
        ) AS DOUBLE),
        0.0
      ) + COALESCE(
        SUM(
          CASE
            WHEN COALESCE(ABS("t2"."value") < 1000000000000.0, FALSE)
            THEN NULL
            ELSE "t2"."value"
          END
        ),
        0.0
      )
    END AS "revenue",
    FIRST("t2"."value" ORDER BY "t2"."day") AS "first_value"
  FROM (
    SELECT
      "t1"."customer_id",
      "t1"."day",
      CASE
        WHEN (
          SUM(
            CAST(CASE
              WHEN COALESCE(ABS("t1"."paid") < 1000000000000.0, FALSE)
              THEN "t1"."paid"
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) IS NULL
        )
        AND (
          SUM(
            CASE
              WHEN COALESCE(ABS("t1"."paid") < 1000000000000.0, FALSE)
              THEN NULL
              ELSE "t1"."paid"
            END
          ) IS NULL
        )
        THEN CAST(NULL AS DOUBLE)
        ELSE COALESCE(
          CAST(SUM(
            CAST(CASE
              WHEN COALESCE(ABS("t1"."paid") < 1000000000000.0, FALSE)
              THEN "t1"."paid"
              ELSE NULL
            END AS DECIMAL(18, 6))
          ) AS DOUBLE),
          0.0
        ) + COALESCE(
          SUM(
            CASE
              WHEN COALESCE(ABS("t1"."paid") < 1000000000000.0, FALSE)
              THEN NULL
              ELSE "t1"."paid"
            END
          ),
          0.0
        )
      END AS "value"
    FROM (
      SELECT
        "t0"."order_id",
        "t0"."customer_id",
        "t0"."ordered_at",
        "t0"."amount",
        "t0"."category",
        "t0"."status",
        DATE_DIFF('DAY', MAKE_DATE(1970, 1, 1), CAST("t0"."ordered_at" AS DATE)) AS "day",
        CASE WHEN "t0"."status" = 'paid' THEN "t0"."amount" ELSE 0.0 END AS "paid"
      FROM "orders" AS "t0"
      WHERE
        "t0"."customer_id" IS NOT NULL
        AND "t0"."ordered_at" <= MAKE_TIMESTAMP(2024, 3, 1, 0, 0, 0.0)
        AND COALESCE("t0"."status" IN ('paid', 'refunded') AND (
          "t0"."amount" >= 0
        ), FALSE)
    ) AS "t1"
    GROUP BY
      1,
      2
  ) AS "t2"
  GROUP BY
    1
) AS "t3"
ORDER BY
  "t3"."customer_id" ASC
